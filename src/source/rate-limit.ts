// Token bucket for `smr limit --bandwidth`: sending waits until enough bytes have accrued.

/** A byte-rate limiter; rate null means unlimited. */
export class RateLimiter {
  private tokens = 0;
  private last = Date.now();

  constructor(private rate: number | null) {}

  setRate(rate: number | null): void {
    this.rate = rate;
    this.tokens = 0;
    this.last = Date.now();
  }

  /** Waits until `bytes` may be sent. */
  async take(bytes: number): Promise<void> {
    if (!this.rate) return;
    const burst = Math.max(64 * 1024, this.rate / 10);
    const now = Date.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0)
      await new Promise((r) => setTimeout(r, (-this.tokens / this.rate!) * 1000));
  }
}
