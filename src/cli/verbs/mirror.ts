// `smr mirror start|stop|pause|resume NAME`; with --wait, progress on a terminal and a summary.
import { source } from '../daemon-call.js';
import { SmrError } from '../../shared/errors.js';
import type { ParamsOf } from '../../control/methods.js';
import { withStatusProgress } from '../status-progress.js';
import { mirrorOutcome, mirrorProgress, statusLines, type StatusView } from '../render-status.js';
import { byName, type Ctx, type Verb, type VerbResult } from '../verb.js';
import { formatDuration } from '../../shared/units.js';
import { durationFlag } from '../options.js';
import { dryRunResult } from '../render-dry-run.js';

/** What a completed mirror changed, in `mirror start --wait --json` as `summary`. */
export interface MirrorSummary {
  files: number;
  bytes: number;
  deleted: number;
  orphans: number;
  seconds: number;
}

/** Waits for the mirror, showing counts, rate and time left on a terminal (nothing on a pipe). */
async function waitMirrored(ctx: Ctx, name: string, timeoutMs: number): Promise<VerbResult> {
  const started = Date.now();
  const s = await withStatusProgress(
    ctx,
    name,
    `${name}: mirror starting`,
    ({ mirror: m }, meter) => {
      meter.add(Date.now(), m.bytesDone);
      return mirrorProgress(name, m, meter.rate(), meter.eta(m.bytesTotal));
    },
    async () => (await source(ctx, 'wait', { name, for: 'mirrored', timeoutMs })) as StatusView,
  );
  const m = s.mirror;
  const summary: MirrorSummary = {
    files: m.filesDone,
    bytes: m.bytesDone,
    deleted: m.deleted ?? 0,
    orphans: m.orphans ?? 0,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  const head = `${name}: mirror ${m.state}${m.mode ? ` (${m.mode})` : ''} in ${formatDuration(Date.now() - started)}: ${mirrorOutcome(m)}`;
  // A mirror stopped (by `mirror stop`, or an error) did not bring the target in line.
  const exitCode = m.state === 'complete' ? 0 : 1;
  return { data: { ...s, summary }, text: [head, ...statusLines(s)], exitCode };
}

export const mirrorVerb: Verb = {
  connectionOf: byName,
  command: 'mirror <action> <name>',
  describe: 'Bring the whole target copy in line with the source',
  builder: (y) =>
    y
      .positional('action', { choices: ['start', 'stop', 'pause', 'resume'] as const })
      .positional('name', { type: 'string' })
      .option('mode', { choices: ['full', 'diff', 'checksum'] as const, default: 'diff' })
      .option('newer-only', { type: 'boolean', describe: 'send only files newer on the source' })
      .option('delete-orphans', {
        type: 'boolean',
        describe: 'delete target files not in the source set',
      })
      .option('force', {
        type: 'boolean',
        describe: 'delete past the safety brake (more than half of the target), held deletions too',
      })
      .option('dry-run', {
        type: 'boolean',
        describe: 'with start: change nothing, list each path the mirror would change',
      })
      .option('wait', {
        type: 'boolean',
        describe: 'wait until the mirror completes; then say what it changed',
      })
      .option('timeout', durationFlag('timeout', 'with --wait: give up after this long (exit 6)')),
  async run(
    a: {
      action: ParamsOf<'mirror'>['action'];
      name: string;
      mode: ParamsOf<'mirror'>['mode'];
      newerOnly?: boolean;
      deleteOrphans?: boolean;
      force?: boolean;
      dryRun?: boolean;
      wait?: boolean;
      timeout?: number;
    },
    ctx,
  ) {
    if (a.dryRun && a.action !== 'start')
      throw new SmrError('usage', `--dry-run goes with mirror start, not mirror ${a.action}`);
    if (a.dryRun)
      return dryRunResult(
        await source(ctx, 'dry-run', {
          name: a.name,
          operation: 'mirror',
          mode: a.mode ?? 'diff',
          newerOnly: a.newerOnly,
          deleteOrphans: a.deleteOrphans,
          force: a.force,
        }),
      );
    const s = (await source(ctx, 'mirror', {
      name: a.name,
      action: a.action,
      mode: a.mode,
      newerOnly: a.newerOnly,
      deleteOrphans: a.deleteOrphans,
      force: a.force,
    })) as StatusView;
    if (a.action === 'start' && a.wait) return waitMirrored(ctx, a.name, a.timeout ?? 0);
    return { data: s, text: statusLines(s) };
  },
};
