// smr's command line: global options, the verbs, and the one place errors become exit codes.
import yargs, { type Argv } from 'yargs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SmrError, asSmrError } from '../shared/errors.js';
import { setLogLevel } from '../shared/log.js';
import { loadConfig } from '../config/config.js';
import { defaultStateDir } from '../config/state-dir.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { render, renderError } from './output.js';
import type { Ctx, VerbResult } from './verb.js';
import { verbsFor } from './verbs/index.js';

/** A usage error yargs reported through `fail`: the verb must not run. */
class UsageAbort extends Error {}

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

interface GlobalArgs {
  stateDir?: string;
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

async function makeCtx(g: GlobalArgs): Promise<Ctx> {
  const { config } = await loadConfig(g.config);
  const stateDir = path.resolve(
    g.stateDir ?? process.env.SMR_STATE_DIR ?? config.stateDir ?? defaultStateDir(),
  );
  setLogLevel(g.verbose ? 'debug' : g.quiet ? 'warn' : 'info');
  return {
    stateDir,
    config,
    json: Boolean(g.json),
    quiet: Boolean(g.quiet),
    verbose: Boolean(g.verbose),
    tty: Boolean(process.stdout.isTTY),
  };
}

/** Runs smr with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  let outcome: { result?: VerbResult | null; error?: unknown; ctx?: Ctx } = {};
  let usageError: string | null = null;
  const y: Argv = yargs(argv)
    .scriptName('smr')
    .usage('smr <verb> [options]\n\nReal-time file replication: durable, ordered, verifiable.')
    .option('state-dir', {
      type: 'string',
      global: true,
      describe: 'daemon state and control socket (env SMR_STATE_DIR)',
    })
    .option('config', {
      type: 'string',
      global: true,
      describe: 'config file (default: search for .smrrc*)',
    })
    .option('json', { type: 'boolean', global: true, describe: 'print exactly one JSON object' })
    .option('quiet', { type: 'boolean', global: true, describe: 'print only errors' })
    .option('verbose', { type: 'boolean', global: true, describe: 'print debug logs' })
    .parserConfiguration({ 'populate--': true })
    .strict()
    .demandCommand(1, 'name a verb; see smr --help')
    .recommendCommands()
    .version(pkg.version)
    .help()
    .completion('completion', 'Print a shell completion script')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs wraps what a flag's coerce threw (a bad duration, say) in a YError: a usage error.
      if (err && err.name !== 'YError') throw err;
      usageError = msg ?? err?.message ?? 'bad usage';
      // Thrown, not just noted: yargs goes on to run the verb's handler when a fail callback
      // returns (`connect x --bogus` reported the unknown argument and still made the connection).
      throw new UsageAbort(msg);
    });
  for (const v of await verbsFor(argv)) {
    y.command(v.command as string, v.describe, v.builder ?? ((b: Argv) => b), async (args) => {
      try {
        const ctx = await makeCtx(args as GlobalArgs);
        outcome.ctx = ctx;
        outcome.result = await v.run(args, ctx);
      } catch (err) {
        outcome.error = err;
      }
    });
  }
  try {
    await y.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageAbort)) outcome = { error: err };
  }
  if (usageError !== null) {
    renderError({ json: wantsJson }, 'usage', `${usageError} (see smr --help)`);
    return EXIT.usage;
  }
  if (outcome.error !== undefined) {
    const e = asSmrError(outcome.error);
    const msg = e.hint ? `${e.message}; ${e.hint}` : e.message;
    renderError({ json: outcome.ctx?.json ?? wantsJson }, e.code, msg);
    if (process.env.SMR_DEBUG && !(outcome.error instanceof SmrError)) console.error(outcome.error);
    return exitCodeFor(e.code);
  }
  if (outcome.result && outcome.ctx) {
    render(outcome.ctx, outcome.result);
    return outcome.result.exitCode ?? EXIT.ok;
  }
  return EXIT.ok;
}
