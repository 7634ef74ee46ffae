// The yargs definition of smr: global options and the verbs. main.ts runs what it parses; `schedule
// add` parses a job's command with it too, without running it, to refuse a bad job at once.
import yargs, { type Argv } from 'yargs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { INSTALL_ROOT } from '../shared/self.js';
import type { Verb } from './verb.js';
import { verbsFor } from './verbs/index.js';

/** A usage error yargs reported through `fail`: the verb must not run. */
class UsageAbort extends Error {}

/** The package's version (package.json). */
export const VERSION = (
  createRequire(import.meta.url)(path.join(INSTALL_ROOT, 'package.json')) as { version: string }
).version;

/** What parsing found: a usage error, or the verb that matched (its handler was called). */
export interface Parsed {
  usageError: string | null;
  /** Anything else thrown while parsing. */
  error?: unknown;
}

/** Builds the yargs instance for `argv` with every verb `argv` may name. */
export async function buildParser(
  argv: string[],
  onVerb: (v: Verb, args: Record<string, unknown>) => Promise<void>,
  note: (usage: string) => void,
): Promise<Argv> {
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
    .version(VERSION)
    .help()
    .completion('completion', 'Print a shell completion script')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs wraps what a flag's coerce threw (a bad duration, say) in a YError: a usage error.
      if (err && err.name !== 'YError') throw err;
      // One line, as every error: yargs writes some ("Invalid values:") over several.
      note((msg ?? err?.message ?? 'bad usage').replace(/\s*\n\s*/g, ' '));
      // Thrown, not just noted: yargs goes on to run the verb's handler when a fail callback
      // returns (`connect x --bogus` reported the unknown argument and still made the connection).
      throw new UsageAbort(msg);
    });
  skipHelpCache(y);
  for (const v of await verbsFor(argv)) {
    y.command(v.command as string, v.describe, v.builder ?? ((b: Argv) => b), (args) =>
      onVerb(v, args as Record<string, unknown>),
    );
  }
  return y;
}

/**
 * yargs renders the matched command's whole help text after starting its handler, in case the
 * handler later asks for it (cacheHelpMessage): 40-70 ms of CPU on every verb smr runs, a daemon's
 * start-up included, for a text no verb shows. Help asked for (--help, a usage error) is rendered
 * when asked either way. Internal methods: a yargs without them keeps its cache.
 */
function skipHelpCache(y: Argv): void {
  const internal = (y as unknown as { getInternalMethods?: () => unknown }).getInternalMethods?.();
  const usage = (
    internal as { getUsageInstance?: () => unknown } | undefined
  )?.getUsageInstance?.();
  if (usage && typeof (usage as { cacheHelpMessage?: unknown }).cacheHelpMessage === 'function')
    (usage as { cacheHelpMessage: () => void }).cacheHelpMessage = () => undefined;
}

/** Parses `argv`, calling `onVerb` for the verb it names unless a usage error comes first. */
export async function parse(
  argv: string[],
  onVerb: (v: Verb, args: Record<string, unknown>) => Promise<void>,
): Promise<Parsed> {
  let usageError: string | null = null;
  const y = await buildParser(argv, onVerb, (m) => (usageError = m));
  try {
    await y.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageAbort)) return { usageError, error: err };
  }
  return { usageError };
}
