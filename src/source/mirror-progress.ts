// A mirror's progress: the contract's counters, advanced as the target acknowledges each file, and
// the rule for when a mirror is complete.
import type { MirrorProgress, MirrorState } from '../control/replies.js';

/** The contract's mirror block and its states. */
export type { MirrorProgress, MirrorState };

/** A progress block at its start. */
export function freshProgress(state: MirrorState, mode: MirrorProgress['mode']): MirrorProgress {
  return {
    state,
    mode,
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    percent: 0,
    totalsKnown: false,
    orphans: 0,
    deleted: 0,
  };
}

/** Counts files done as their ops are acknowledged, and says when the run is complete. */
export class ProgressTracker {
  progress: MirrorProgress = freshProgress('idle', null);
  private queued: Array<[number, number]> = []; // [seq after a file was queued, its bytes]
  /** Seq behind the last step of the run (0 until the scan is done). */
  private endSeq = 0;
  private scanned = false;
  private resends = 0;

  /** A new run starts. */
  restart(mode: MirrorProgress['mode']): void {
    this.queued = [];
    this.endSeq = 0;
    this.scanned = false;
    this.progress = freshProgress('calculating', mode);
  }

  /** The state a resumed run goes back to. */
  get resumedState(): MirrorState {
    return this.scanned || this.progress.filesTotal ? 'mirroring' : 'calculating';
  }

  /** A file of `bytes` will be sent (or compared). */
  planned(bytes: number): void {
    this.progress.filesTotal++;
    this.progress.bytesTotal += bytes;
  }

  /** A file's step is queued; it is done once `seq` is acknowledged. */
  queuedUpTo(seq: number, bytes: number): void {
    this.queued.push([seq, bytes]);
  }

  /** Every step of the run is queued, behind `seq`. */
  scanDone(seq: number): void {
    this.endSeq = seq;
    this.scanned = true;
    this.progress.totalsKnown = true;
  }

  /** A resend the target asked for is on its way: completion waits for it (call the result). */
  holdForResend(lastSeq: () => number): () => void {
    this.resends++;
    return () => {
      this.resends--;
      this.endSeq = Math.max(this.endSeq, lastSeq());
    };
  }

  /** The target acknowledged up to `acked`: advances the counters, completes the run. */
  acked(acked: number): void {
    const p = this.progress;
    while (this.queued.length && (this.queued[0] as [number, number])[0] <= acked) {
      const [, bytes] = this.queued.shift() as [number, number];
      p.filesDone++;
      p.bytesDone += bytes;
    }
    // A share of a total that still grows would mislead (50% shown at 7% done).
    p.percent = !p.totalsKnown
      ? 0
      : p.bytesTotal
        ? Math.floor((p.bytesDone / p.bytesTotal) * 100)
        : p.filesTotal
          ? Math.floor((p.filesDone / p.filesTotal) * 100)
          : 0;
    const complete =
      this.scanned && this.resends === 0 && acked >= this.endSeq && this.queued.length === 0;
    if (p.state === 'mirroring' && complete) {
      p.state = 'complete';
      p.percent = 100;
    }
  }
}
