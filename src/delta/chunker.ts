// Content-defined chunking (gear hash, FastCDC-style min skip). Cut points depend only on the 32
// bytes before them and on the previous cut, so after an insertion or deletion both ends cut the
// unchanged data at the same places again: this is what lets the coarse and mid levels survive
// shifted data without any rolling search.
import os from 'node:os';
import {
  COARSE_CHUNK_AVG,
  COARSE_CHUNK_MAX,
  COARSE_CHUNK_MIN,
  MID_CHUNK_AVG,
  MID_CHUNK_MAX,
  MID_CHUNK_MIN,
} from './limits.js';

/** Bytes the 32-bit gear hash remembers: older bytes have been shifted out. */
const GEAR_WINDOW = 32;

// The gear table is part of the wire contract (SIGNATURE_FORMAT_VERSION): xorshift32 from a fixed seed.
function makeGear(): Int32Array {
  const g = new Int32Array(256);
  let x = 0x2545f491;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    g[i] = x;
  }
  return g;
}
const GEAR = makeGear();
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** A mid cut happens where the gear hash (unsigned) is below this: mean gap MID_AVG - MID_MIN. */
export const MID_THRESHOLD = Math.floor(2 ** 32 / (MID_CHUNK_AVG - MID_CHUNK_MIN));
/** Coarse cuts are the mid cuts below this smaller threshold, so the levels nest. */
export const COARSE_THRESHOLD = Math.floor(
  (MID_THRESHOLD * MID_CHUNK_AVG) / (COARSE_CHUNK_AVG - COARSE_CHUNK_MIN),
);

/** Finds mid cut points in a buffer; `natural`/`hash` describe the last cut for the coarse level. */
export class GearCutter {
  natural = false;
  hash = 0;

  /**
   * End (exclusive buffer index) of the chunk starting at `s`, given bytes up to `e`. The caller
   * provides at least MID_CHUNK_MAX bytes unless `e` is the end of the range being chunked.
   */
  cut(buf: Uint8Array, u32: Uint32Array, s: number, e: number): number {
    const end = Math.min(s + MID_CHUNK_MAX, e);
    this.natural = false;
    if (end - s <= MID_CHUNK_MIN) return end;
    // Warm up on the window before the first allowed cut: the hash equals the continuous one there.
    let h = 0;
    for (let i = s + MID_CHUNK_MIN - GEAR_WINDOW; i < s + MID_CHUNK_MIN - 1; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
    }
    const r = this.scan(buf, u32, s + MID_CHUNK_MIN - 1, end, h);
    if (r < 0) return end;
    this.natural = true;
    return r;
  }

  // Hot loop: 4 bytes per 32-bit load where the platform allows (about twice as fast in V8).
  private scan(buf: Uint8Array, u32: Uint32Array, from: number, end: number, h0: number): number {
    const G = GEAR;
    const thr = MID_THRESHOLD;
    let h = h0;
    let i = from;
    for (; i < end && (!LITTLE_ENDIAN || (i & 3) !== 0); i++) {
      h = ((h << 1) + G[buf[i]!]!) | 0;
      if (h >>> 0 < thr) return this.found(h, i);
    }
    const wEnd = end >>> 2;
    let w4 = i >>> 2;
    for (; w4 < wEnd; w4++) {
      const w = u32[w4]!;
      const b = w4 << 2;
      h = ((h << 1) + G[w & 255]!) | 0;
      if (h >>> 0 < thr) return this.found(h, b);
      h = ((h << 1) + G[(w >>> 8) & 255]!) | 0;
      if (h >>> 0 < thr) return this.found(h, b + 1);
      h = ((h << 1) + G[(w >>> 16) & 255]!) | 0;
      if (h >>> 0 < thr) return this.found(h, b + 2);
      h = ((h << 1) + G[w >>> 24]!) | 0;
      if (h >>> 0 < thr) return this.found(h, b + 3);
    }
    for (i = Math.max(i, w4 << 2); i < end; i++) {
      h = ((h << 1) + G[buf[i]!]!) | 0;
      if (h >>> 0 < thr) return this.found(h, i);
    }
    return -1;
  }

  private found(h: number, i: number): number {
    this.hash = h >>> 0;
    return i + 1;
  }
}

/** One coarse chunk: a run of mid chunks identified by a hash of their (length, hash) pairs. */
export interface CoarseChunk {
  offset: number;
  length: number;
  hash: bigint;
}

/** Groups mid chunks into coarse chunks; both ends must feed it the same mid chunks. */
export class CoarseGrouper {
  private start = -1;
  private end = 0;
  private acc = Buffer.alloc(12 * 64);
  private n = 0;
  constructor(private readonly hashBytes: (b: Uint8Array) => bigint) {}

  /** Adds the next mid chunk; returns the coarse chunk it closes, if any. */
  add(
    offset: number,
    length: number,
    hash: bigint,
    natural: boolean,
    cutHash: number,
  ): CoarseChunk | undefined {
    if (this.start < 0) this.start = offset;
    if (this.acc.length < 12 * (this.n + 1)) {
      const bigger = Buffer.alloc(this.acc.length * 2);
      this.acc.copy(bigger);
      this.acc = bigger;
    }
    this.acc.writeUInt32LE(length, 12 * this.n);
    this.acc.writeBigUInt64LE(hash, 12 * this.n + 4);
    this.n++;
    this.end = offset + length;
    const len = this.end - this.start;
    const cut =
      (natural && cutHash < COARSE_THRESHOLD && len >= COARSE_CHUNK_MIN) || len >= COARSE_CHUNK_MAX;
    return cut ? this.flush() : undefined;
  }

  /** Closes the open coarse chunk (at the end of the range), if any. */
  flush(): CoarseChunk | undefined {
    if (this.n === 0) return undefined;
    const chunk = {
      offset: this.start,
      length: this.end - this.start,
      hash: this.hashBytes(this.acc.subarray(0, 12 * this.n)),
    };
    this.start = -1;
    this.n = 0;
    return chunk;
  }
}
