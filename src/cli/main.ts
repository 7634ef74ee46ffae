// smr's command line: global options, the verbs, and the one place errors become exit codes.
import path from 'node:path';
import { SmrError, asSmrError } from '../shared/errors.js';
import { setLogLevel } from '../shared/log.js';
import { loadConfig } from '../config/load.js';
import { defaultStateDir } from '../config/state-dir.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { render, renderError } from './output.js';
import { parse, VERSION } from './parser.js';
import type { Ctx, VerbResult } from './verb.js';

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

/** The arguments before `--` (what follows it belongs to a task or a scheduled job). */
function ownArgs(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

/** Runs smr with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const own = ownArgs(argv);
  const wantsJson = own.includes('--json');
  // --version wins over everything else on the line (as yargs has it), so it is answered before
  // the verbs are loaded: text as yargs prints it, or one JSON object like every verb's --json.
  if (own.includes('--version')) {
    const out = wantsJson
      ? JSON.stringify({ version: VERSION, node: process.versions.node })
      : VERSION;
    process.stdout.write(out + '\n');
    return EXIT.ok;
  }
  let outcome: { result?: VerbResult | null; error?: unknown; ctx?: Ctx } = {};
  const parsed = await parse(argv, async (v, args) => {
    try {
      const ctx = await makeCtx(args as GlobalArgs);
      outcome.ctx = ctx;
      outcome.result = await v.run(args, ctx);
    } catch (err) {
      outcome.error = err;
    }
  });
  if (parsed.error !== undefined) outcome = { error: parsed.error };
  if (parsed.usageError !== null) {
    renderError({ json: wantsJson }, 'usage', `${parsed.usageError} (see smr --help)`);
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
