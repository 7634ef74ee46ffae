// Waiting for the target's acknowledgement of a seq. The mirror compares a file's blocks only once
// every op queued for that path is applied, so the target's hashes describe the copy the writes
// that follow will meet (docs/ARCHITECTURE.md, "why the basis stays valid").
import { Signal } from '../shared/signal.js';

/** What the waiter reads of the journal. */
export interface AckSource {
  readonly ackedSeq: number;
  readonly lastSeq: number;
  onAck(listener: () => void): () => void;
}

/** The wait a mirror step needs; a real one is a compile-time requirement of the step. */
export interface AckWait {
  /** Resolves once the target applied `seq`, or once waiting for it became pointless. */
  until(seq: number): Promise<void>;
}

/** Checks again this often even without an ack (a journal reset sends none). */
const RECHECK_MS = 1000;

/** Waits for acks of one journal, until closed. */
export class AckWaiter implements AckWait {
  private readonly acked = new Signal();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly journal: AckSource) {
    this.unsubscribe = journal.onAck(() => this.acked.notify());
  }

  /**
   * Resolves once `seq` is acknowledged. A seq the journal no longer holds (a restarted stream
   * begins again below it) is waited for only up to the journal's last seq, and a closed waiter
   * (the connection stops) releases everyone: a stopping pipeline must not hang on it.
   */
  async until(seq: number): Promise<void> {
    while (!this.closed && this.journal.ackedSeq < Math.min(seq, this.journal.lastSeq))
      await this.acked.wait(RECHECK_MS);
  }

  /** Releases every wait, now and later. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.acked.notify();
  }
}
