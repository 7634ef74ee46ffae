// Rate and time left for progress lines, from samples of a growing counter (bytes done).

/** Keeps the samples of the last `windowMs` and answers with the rate over them. */
export class RateMeter {
  private samples: Array<[number, number]> = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records `value` (a counter that only grows) at time `t` (ms). */
  add(t: number, value: number): void {
    const last = this.samples.at(-1);
    if (last && value < last[1]) this.samples = []; // a new run started: forget the old one
    this.samples.push([t, value]);
    while (this.samples.length > 2 && (this.samples[0] as [number, number])[0] < t - this.windowMs)
      this.samples.shift();
  }

  /** Units per second over the window, or null before there is a second sample to compare. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last[0] <= first[0]) return null;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  /** Milliseconds until `total` at the current rate, or null when unknown. */
  eta(total: number): number | null {
    const r = this.rate();
    const last = this.samples.at(-1);
    if (!r || r <= 0 || !last) return null;
    return ((total - last[1]) / r) * 1000;
  }
}
