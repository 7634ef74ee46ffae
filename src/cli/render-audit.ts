// The progress line of a running verify or orphans listing: entries (and, when checksums are read,
// bytes) against totals known from the target's listing, with rate and time left on a terminal.
import { formatBytes, formatDuration, formatRate } from '../shared/units.js';
import type { AuditProgressView } from '../control/replies.js';

/** What the rate and time left are measured in: bytes when every block is read, else entries. */
export function auditCounter(a: AuditProgressView): { done: number; total: number } {
  return a.mode === 'checksum'
    ? { done: a.bytesDone, total: a.bytesTotal }
    : { done: a.entriesDone, total: a.entriesTotal };
}

/** `verify web (checksum): 5210/10000 entries, 1.2 GiB/2.3 GiB, 52%` and so on. */
export function auditLine(
  a: AuditProgressView,
  rate: number | null = null,
  etaMs: number | null = null,
): string {
  const head = `${a.verb} (${a.mode})`;
  if (a.state === 'listing') return `${head}: listing the target…`;
  if (a.state === 'fixing') return `${head}: fixing what differs, then comparing again…`;
  const { done, total } = auditCounter(a);
  const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
  const bytes =
    a.verb === 'verify' ? `, ${formatBytes(a.bytesDone)}/${formatBytes(a.bytesTotal)}` : '';
  const speed =
    rate === null
      ? ''
      : a.mode === 'checksum'
        ? `, ${formatRate(rate)}`
        : `, ${Math.round(rate)} entries/s`;
  const left = etaMs === null ? '' : `, ${formatDuration(Math.max(1000, etaMs))} left`;
  return `${head}: ${a.entriesDone}/${a.entriesTotal} entries${bytes}, ${percent}%${speed}${left}`;
}
