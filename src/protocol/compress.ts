// Per-frame compression of what crosses the link: the codecs a connection can negotiate, and the
// cheap check that leaves already-compressed data alone (compress a sample first).
import { SmrError } from '../shared/errors.js';
import { lz4Compress, lz4Decompress } from './lz4.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

/** What `connect --compress` accepts. */
export type CompressName = 'zstd' | 'lz4' | 'none';
/** The default: on, with the codec that shrinks text most for its speed. */
export const DEFAULT_COMPRESS: CompressName = 'zstd';
/** Names in the order a source offers them. */
export const COMPRESS_NAMES: readonly CompressName[] = ['zstd', 'lz4', 'none'];

/** One codec: its id on the wire and its functions. */
export interface Codec {
  id: number;
  name: Exclude<CompressName, 'none'>;
  compress(data: Buffer): Buffer;
  /** Decompresses to exactly `size` bytes, or throws (never allocates beyond `size`). */
  decompress(data: Buffer, size: number): Buffer;
}

const CODECS: readonly Codec[] = [
  { id: 1, name: 'zstd', compress: zstdCompress, decompress: zstdDecompress },
  { id: 2, name: 'lz4', compress: lz4Compress, decompress: lz4Decompress },
];

/** The codec of a name (null for none); throws usage on an unknown name. */
export function codecByName(name: string): Codec | null {
  if (name === 'none') return null;
  const c = CODECS.find((x) => x.name === name);
  if (!c) throw new SmrError('usage', `bad compression "${name}"`, 'use zstd, lz4 or none');
  return c;
}

/** The codec of a wire id, or null when unknown. */
export function codecById(id: number): Codec | null {
  return CODECS.find((x) => x.id === id) ?? null;
}

/** Payloads smaller than this go raw: a frame of acks or pings gains nothing. */
const MIN_BYTES = 512;
/** From this size on, a sample decides first whether the rest is worth compressing. */
const SAMPLE_FROM = 64 * 1024;
const SAMPLE_BYTES = 16 * 1024;
/** Compressed output must be at most this share of the input to be sent compressed. */
const KEEP_RATIO = 0.9;

/**
 * `parts` (one frame's uncompressed payload) compressed with `codec`, or null when they should go
 * raw: too small, a sample from the middle of the largest part did not shrink (so
 * already-compressed data costs one 16 KiB trial per frame), or the whole did not shrink enough.
 */
export function compressPayload(codec: Codec, parts: readonly Buffer[]): Buffer | null {
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (total < MIN_BYTES) return null;
  const largest = parts.reduce((a, b) => (b.length > a.length ? b : a));
  if (largest.length >= SAMPLE_FROM) {
    const at = (largest.length - SAMPLE_BYTES) >> 1;
    const sample = codec.compress(largest.subarray(at, at + SAMPLE_BYTES));
    if (sample.length > SAMPLE_BYTES * KEEP_RATIO) return null;
  }
  const out = codec.compress(Buffer.concat(parts as Buffer[], total));
  return out.length <= total * KEEP_RATIO ? out : null;
}
