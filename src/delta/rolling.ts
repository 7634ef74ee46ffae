// The weak rolling checksum (rsync's Adler-32 variant): cheap to slide by one byte, so the source
// can test every offset of a region against the target's fine blocks; xxh64 then confirms a hit.

/** Weak checksum of buf[start, start + len): low 16 bits sum the bytes, high 16 sum the prefix sums. */
export function weakChecksum(buf: Uint8Array, start: number, len: number): number {
  let a = 0;
  let b = 0;
  for (let i = start, end = start + len; i < end; i++) {
    a = (a + buf[i]!) | 0;
    b = (b + a) | 0;
  }
  return (((b & 0xffff) << 16) | (a & 0xffff)) >>> 0;
}

/**
 * Weak checksum -> block indices: a bitmap filter (32 bits per block, so ~3% of offsets pass)
 * that the rolling loop tests first, then chained buckets for the exact lookup. Typed arrays only.
 */
export class WeakTable {
  readonly filter: Int32Array;
  readonly filterShift: number;
  readonly heads: Int32Array;
  readonly next: Int32Array;
  readonly shift: number;

  constructor(readonly weak: Uint32Array) {
    const log = Math.ceil(Math.log2(Math.max(2, weak.length)));
    const filterBits = Math.max(10, log + 5);
    this.filterShift = 32 - filterBits;
    this.filter = new Int32Array(1 << (filterBits - 5));
    this.shift = 32 - Math.max(8, log + 1);
    this.heads = new Int32Array(1 << (32 - this.shift)).fill(-1);
    this.next = new Int32Array(weak.length).fill(-1);
    // Insert in reverse so each chain lists blocks in file order.
    for (let k = weak.length - 1; k >= 0; k--) {
      const w = weak[k]!;
      const f = Math.imul(w, 0x9e3779b1) >>> this.filterShift;
      this.filter[f >>> 5] = this.filter[f >>> 5]! | (1 << (f & 31));
      const s = this.slot(w);
      this.next[k] = this.heads[s]!;
      this.heads[s] = k;
    }
  }

  /** Bucket of a weak checksum (Fibonacci hashing spreads the skewed low half). */
  slot(w: number): number {
    return Math.imul(w, 0x9e3779b1) >>> this.shift;
  }

  /** First block whose weak checksum is `w`, starting the chain walk at block `k`; -1 if none. */
  find(w: number, k: number): number {
    for (let i = k; i >= 0; i = this.next[i]!) if (this.weak[i] === w) return i;
    return -1;
  }

  /** First block whose weak checksum is `w`, or -1. */
  lookup(w: number): number {
    return this.find(w, this.heads[this.slot(w)]!);
  }
}

/** Checksum state of a window of `len` bytes that slides one byte at a time. */
export class Roller {
  a = 0;
  b = 0;
  constructor(readonly len: number) {}

  /** Starts over on the window buf[start, start + len). */
  init(buf: Uint8Array, start: number): void {
    let a = 0;
    let b = 0;
    for (let i = start, end = start + this.len; i < end; i++) {
      a = (a + buf[i]!) | 0;
      b = (b + a) | 0;
    }
    this.a = a;
    this.b = b;
  }

  /** Weak checksum of the current window. */
  get weak(): number {
    return (((this.b & 0xffff) << 16) | (this.a & 0xffff)) >>> 0;
  }

  /** Slides the window at buf index i to i + 1. */
  roll(buf: Uint8Array, i: number): void {
    const out = buf[i]!;
    this.a = (this.a - out + buf[i + this.len]!) | 0;
    this.b = (this.b - Math.imul(this.len, out) + this.a) | 0;
  }

  /**
   * Checks windows starting at i = from .. last (the current state is the window at `from`) and
   * returns the first i whose weak checksum is in the table, or -1; the state follows i.
   */
  scan(buf: Uint8Array, from: number, last: number, table: WeakTable): number {
    const filter = table.filter;
    const shift = table.filterShift;
    const len = this.len;
    let a = this.a;
    let b = this.b;
    let i = from;
    for (;;) {
      const w = ((b & 0xffff) << 16) | (a & 0xffff);
      const f = Math.imul(w, 0x9e3779b1) >>> shift;
      if ((filter[f >>> 5]! & (1 << (f & 31))) !== 0 && table.lookup(w >>> 0) >= 0) break;
      if (i >= last) {
        i = -1;
        break;
      }
      const out = buf[i]!;
      a = (a - out + buf[i + len]!) | 0;
      b = (b - Math.imul(len, out) + a) | 0;
      i++;
    }
    this.a = a;
    this.b = b;
    return i;
  }
}
