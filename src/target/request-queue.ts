// The requests and listings of one session: a few run at once, the rest wait in arrival order,
// and only a full waiting line makes the session stop reading. Before, the session stopped
// reading as soon as 16 were running: slow requests (hashing big files) then held back the ops
// behind them too, and a source's stream stalled until they ended — the fuzz harness's two
// "hangs" (seed 1717: no ACK of an op for 60 s while 16 checksum requests ran).

/** How many may run at once, and how much may wait before the session stops reading. */
export interface RequestLimits {
  running: number;
  waiting: number;
  waitingBytes: number;
}

/** Defaults: as many running as before; waiting bounded by count and by bytes held. */
export const REQUEST_LIMITS: RequestLimits = {
  running: 16,
  waiting: 256,
  waitingBytes: 16 * 1024 * 1024,
};

interface Waiting {
  start: () => Promise<unknown>;
  bytes: number;
}

/** One session's requests in progress and waiting. */
export class RequestQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private waitingBytes = 0;
  private closed = false;

  /** `changed`: called whenever `full` may have changed (the session's flow control). */
  constructor(
    private readonly changed: () => void,
    private readonly limits: RequestLimits = REQUEST_LIMITS,
  ) {}

  /** Runs `start` now, or once a running one ends; `bytes`: what its frame holds in memory. */
  add(start: () => Promise<unknown>, bytes: number): void {
    if (this.closed) return;
    this.waiting.push({ start, bytes });
    this.waitingBytes += bytes;
    this.next();
    this.changed();
  }

  /** True while the waiting line is at its bound: the session stops reading until it is not. */
  get full(): boolean {
    const l = this.limits;
    return this.waiting.length >= l.waiting || this.waitingBytes >= l.waitingBytes;
  }

  /** Requests running and waiting. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  /** The session ended: nothing waiting is started (running ones end on their own). */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.waitingBytes = 0;
  }

  private next(): void {
    while (!this.closed && this.running < this.limits.running && this.waiting.length) {
      const w = this.waiting.shift() as Waiting;
      this.waitingBytes -= w.bytes;
      this.running++;
      void w
        .start()
        .catch(() => undefined) // each request answers its own errors; this is only the count
        .finally(() => {
          this.running--;
          this.next();
          this.changed();
        });
    }
  }
}
