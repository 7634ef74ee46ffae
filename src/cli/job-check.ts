// A scheduled job's command is checked when it is added, not when cron fires at 02:00: its verb,
// every flag (parsed by the same yargs definition, without running it) and the connection it names.
import { SmrError } from '../shared/errors.js';
import { closest } from '../config/suggest.js';
import { source } from './daemon-call.js';
import { parse } from './parser.js';
import type { Ctx, Verb } from './verb.js';
import { VERB_NAMES } from './verbs/index.js';

function refuse(argv: string[], why: string, hint?: string): SmrError {
  return new SmrError('usage', `cannot schedule "smr ${argv.join(' ')}": ${why}`, hint);
}

/** Throws SmrError('usage' or 'unknown-connection') unless `argv` is a command a job can run. */
export async function checkJobCommand(ctx: Ctx, argv: string[]): Promise<void> {
  const verb = argv[0] ?? '';
  if (!VERB_NAMES.includes(verb)) {
    const guess = closest(verb, VERB_NAMES);
    throw refuse(
      argv,
      `unknown verb "${verb}"`,
      guess ? `did you mean "${guess}"?` : 'see smr --help',
    );
  }
  if (argv.some((a) => a === '--state-dir' || a.startsWith('--state-dir=')))
    throw refuse(argv, "a job runs against its daemon's own state dir", 'leave --state-dir out');
  let found: { verb: Verb; args: Record<string, unknown> } | undefined;
  const parsed = await parse(argv, async (v, args) => {
    found = { verb: v, args };
  });
  if (parsed.error !== undefined) throw parsed.error;
  if (parsed.usageError !== null) throw refuse(argv, parsed.usageError);
  if (!found) throw refuse(argv, 'it names no verb');
  if (found.verb.schedulable === false)
    throw refuse(argv, `"${verb}" cannot run as a scheduled job`, 'use a systemd unit or cron');
  const name = found.verb.connectionOf?.(found.args);
  if (typeof name === 'string') {
    try {
      await source(ctx, 'status', { name });
    } catch (err) {
      if (err instanceof SmrError && err.code === 'unknown-connection')
        throw new SmrError(
          'unknown-connection',
          `cannot schedule "smr ${argv.join(' ')}": no connection named "${name}"`,
          'see smr status for the connections this source has',
        );
      throw err;
    }
  }
}
