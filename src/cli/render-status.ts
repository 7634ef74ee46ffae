// Human rendering of connection status and mirror progress. Totals that still grow are said to
// be growing (no percentage of them), and fields a daemon may lack are rendered when present.
import { formatBytes, formatDuration, formatRate } from '../shared/units.js';
import type { ConnectionStatus } from '../source/connection.js';
import { auditLine } from './render-audit.js';

/** A status as the CLI reads it: `skipped` is the contract's, rendered when the daemon sends it. */
export type StatusView = ConnectionStatus & {
  skipped?: { count: number; reasons?: Record<string, number> };
};

type MirrorView = StatusView['mirror'];

function counts(m: MirrorView): string {
  const more = m.totalsKnown === false ? '+' : '';
  return `${m.filesDone}/${m.filesTotal}${more} files, ${formatBytes(m.bytesDone)}/${formatBytes(m.bytesTotal)}${more}`;
}

/** What a mirror did, once it has ended: files and bytes it changed, orphans it deleted. */
export function mirrorOutcome(m: MirrorView): string {
  const deleted = m.deleted ? `, ${m.deleted} orphan(s) deleted` : '';
  const kept = m.orphans && !m.deleted ? `, ${m.orphans} orphan(s) kept (smr orphans)` : '';
  return `${m.filesDone} changed (${formatBytes(m.bytesDone)})${deleted}${kept}`;
}

/** One line about a mirror: state, mode, and progress as far as it is known. */
export function mirrorLine(m: MirrorView): string {
  const mode = m.mode ? ` (${m.mode})` : '';
  const error = m.error ? `; ${m.error}` : '';
  switch (m.state) {
    case 'idle':
      return 'idle';
    case 'calculating':
      return `calculating${mode}: listing the target…${error}`;
    case 'complete':
      return `complete${mode}: ${mirrorOutcome(m)}${error}`;
    case 'mirroring':
      if (m.totalsKnown === false)
        return `mirroring${mode}: listing… ${counts(m)} found so far${error}`;
      return `mirroring${mode} ${counts(m)}, ${m.percent}%${error}`;
    default:
      return `${m.state}${mode} at ${counts(m)}${error}`;
  }
}

/** The progress line of `mirror start --wait` on a terminal: counts, rate and time left. */
export function mirrorProgress(
  name: string,
  m: MirrorView,
  rate: number | null,
  etaMs: number | null,
): string {
  const speed = rate === null ? '' : `, ${formatRate(rate)}`;
  const eta =
    m.totalsKnown && etaMs !== null ? `, ${formatDuration(Math.max(1000, etaMs))} left` : '';
  return `${name}: ${mirrorLine(m)}${m.state === 'mirroring' ? speed + eta : ''}`;
}

function skippedLine(s: StatusView): string[] {
  if (!s.skipped?.count) return [];
  const why = Object.entries(s.skipped.reasons ?? {})
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [`  skipped ${s.skipped.count}${why ? ` (${why})` : ''}: not replicated, see the log`];
}

/** One line about a restore: state, where to, progress. */
export function restoreLine(r: NonNullable<StatusView['restore']>): string {
  const from = r.from ? ` from snapshot ${r.from}` : '';
  const what = `${r.filesDone}/${r.filesTotal} entries, ${formatBytes(r.bytesDone)}/${formatBytes(r.bytesTotal)}`;
  const failed =
    (r.failed ? `, ${r.failed} not restored` : '') +
    (r.skipped ? `, ${r.skipped} special(s) skipped` : '');
  const error = r.error ? `; ${r.error}` : '';
  return `${r.state} (${r.mode ?? '-'})${from} into ${r.to ?? '-'}: ${what}, ${r.percent}%${failed}${error}`;
}

/** A few lines describing one connection. */
export function statusLines(s: StatusView): string[] {
  const limit =
    s.bandwidth === undefined
      ? ''
      : `; bandwidth ${s.bandwidth === null ? 'unlimited' : `limit ${formatRate(s.bandwidth)}`}`;
  return [
    `${s.name}: ${s.path} -> ${s.target} ${s.targetPath}`,
    `  link ${s.link}, replication ${s.replication}, transmit ${s.transmit}, target ${s.targetState}, consistency ${s.consistency}`,
    `  mirror ${mirrorLine(s.mirror)}`,
    `  queue ${s.queue.ops} ops, ${formatBytes(s.queue.bytes)}; captured seq ${s.lastCapturedSeq}, acked seq ${s.lastAckedSeq}`,
    `  sent ${formatBytes(s.sent.bytes)} data, ${formatBytes(s.sent.wireBytes)} on the wire${limit}; tasks pending ${s.tasks.pending}`,
    ...skippedLine(s),
    ...(s.watcher ? [`  ${watcherLine(s.watcher)}`] : []),
    ...(s.restore ? [`  restore ${restoreLine(s.restore)}`] : []),
    ...(s.audit ? [`  ${auditLine(s.audit)}`] : []),
    ...(s.lastError && s.link !== 'connected' ? [`  last error: ${s.lastError}`] : []),
  ];
}

function watcherLine(w: NonNullable<ConnectionStatus['watcher']>): string {
  const dirs = w.watchedDirs === null ? '' : `, ${w.watchedDirs} directories watched`;
  const unwatched = w.unwatched ? `, ${w.unwatched} unwatched` : '';
  return `watcher ${w.backend}${dirs}${unwatched}; ${w.missed} possible event losses, ${w.rescans} rescans`;
}
