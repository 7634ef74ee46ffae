// How far a running verify (or orphans listing) has got, for `status` and verify's progress line.
import type { AuditProgressView } from '../control/replies.js';

/**
 * The progress of the connection's current audit. The totals come from the target's listing,
 * which is complete before the comparison starts: the replica's entries are what verify expects to
 * meet on the source, so the count is known first and never grows under the reader's eyes (a
 * source with more entries than the replica raises the total to what was compared).
 */
export class AuditProgress {
  private p: AuditProgressView | null = null;

  /** A new audit begins: it lists the target first. */
  begin(verb: AuditProgressView['verb'], mode: AuditProgressView['mode']): void {
    this.p = {
      verb,
      mode,
      state: 'listing',
      entriesDone: 0,
      entriesTotal: 0,
      bytesDone: 0,
      bytesTotal: 0,
    };
  }

  /** The target's listing is in: what the comparison will walk. */
  listed(entries: number, bytes: number): void {
    if (!this.p) return;
    Object.assign(this.p, { state: 'comparing', entriesDone: 0, bytesDone: 0 });
    this.p.entriesTotal = entries;
    this.p.bytesTotal = bytes;
  }

  /** One source entry compared (`bytes`: its size when it is a file). */
  entry(bytes: number): void {
    if (!this.p) return;
    this.p.entriesDone++;
    this.p.bytesDone += bytes;
    this.p.entriesTotal = Math.max(this.p.entriesTotal, this.p.entriesDone);
    this.p.bytesTotal = Math.max(this.p.bytesTotal, this.p.bytesDone);
  }

  /** verify --fix resends what differed, then compares again. */
  fixing(): void {
    if (this.p) this.p.state = 'fixing';
  }

  /** The audit ended (either way): status stops showing it. */
  end(): void {
    this.p = null;
  }

  /** What `status` shows, or undefined when no audit runs. */
  view(): AuditProgressView | undefined {
    return this.p ? { ...this.p } : undefined;
  }
}
