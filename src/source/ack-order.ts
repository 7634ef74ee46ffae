// The target's acknowledgements, recorded in the order docs/INDEX.md gives ("Acks"): the index
// first, with an fsync that makes every earlier index commit durable, then the journal, which
// trims. So the journal never drops a record whose effect the index could still lose. A burst of
// acks is recorded once, with its latest seq.
import type { PathIndex } from '../index/index.js';
import type { Journal } from '../journal/journal.js';

/** One connection's ack recorder. */
export class AckOrder {
  private pending = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly index: Pick<PathIndex, 'setAckedSeq'>,
    private readonly journal: Pick<Journal, 'ack' | 'ackedSeq'>,
  ) {}

  /** The target acknowledged up to `seq`; resolves once that (or a later ack) is recorded. */
  ack(seq: number): Promise<void> {
    this.pending = Math.max(this.pending, seq);
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    await Promise.resolve(); // begins once ack() has recorded it as running
    try {
      while (this.pending > this.journal.ackedSeq) {
        const seq = this.pending;
        await this.index.setAckedSeq(seq, true); // (its fsync in the thread pool)
        await this.journal.ack(seq);
      }
    } finally {
      // In the same turn as the last check: an ack arriving later starts a new drain.
      this.running = null;
    }
  }
}
