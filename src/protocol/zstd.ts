// zstd through @toondepauw/node-zstd (napi-rs, prebuilt for linux/macOS/Windows, sync API). Its
// decoder has no output bound, so a frame is walked first and refused when it could expand past
// the size the sender declared: an authenticated peer must not be able to exhaust our memory.
import { Decoder, Encoder } from '@toondepauw/node-zstd';
import { SmrError } from '../shared/errors.js';
import { MAX_BODY_BYTES } from './limits.js';

// Level 1: a link compresses what it sends as it goes, speed first (ratio on text ~0.1 anyway).
const encoder = new Encoder(1);
const decoder = new Decoder();
const FRAME_MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

/** zstd-compresses `data` (one frame). */
export function zstdCompress(data: Buffer): Buffer {
  return encoder.encodeSync(data);
}

/**
 * Decompresses one zstd frame that must hold exactly `size` bytes. The walk's bound counts every
 * compressed block as 128 KiB, but the encoder cuts compressible data into far smaller blocks (a
 * 1 MiB part of a SQLite file: 16 blocks, "2 MiB"), so it is held to what any frame body may hold
 * rather than to `size`; the exact size is checked after decoding.
 */
export function zstdDecompress(data: Buffer, size: number): Buffer {
  if (maxContentSize(data) > Math.max(size, MAX_BODY_BYTES) + BLOCK_MAX)
    throw new SmrError('protocol', 'a zstd frame would expand past its declared size');
  const out = decoder.decodeSync(data);
  if (out.length !== size)
    throw new SmrError('protocol', `a zstd frame held ${out.length} bytes, not ${size}`);
  return out;
}

/**
 * The most bytes one zstd frame (RFC 8878 §3.1.1) can decode to: raw and RLE blocks say their size,
 * a compressed block holds at most 128 KiB. Throws on anything but one plain frame.
 */
function maxContentSize(b: Buffer): number {
  const bad = (why: string): SmrError => new SmrError('protocol', `bad zstd frame: ${why}`);
  if (b.length < 6 || b.readUInt32LE(0) !== FRAME_MAGIC) throw bad('no frame magic');
  const fhd = b.readUInt8(4);
  const single = (fhd >> 5) & 1;
  if ((fhd & 3) !== 0) throw bad('dictionaries are not used here');
  const fcsBytes = [single, 2, 4, 8][fhd >> 6] as number;
  let at = 5 + (single ? 0 : 1) + fcsBytes;
  let total = 0;
  for (;;) {
    if (at + 3 > b.length) throw bad('truncated');
    const h = b.readUIntLE(at, 3);
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    at += 3 + (type === 1 ? 1 : size);
    if (type === 3) throw bad('reserved block type');
    total += type === 2 ? BLOCK_MAX : size;
    if (h & 1) break;
  }
  if (at + ((fhd >> 2) & 1) * 4 !== b.length) throw bad('trailing bytes after the frame');
  return total;
}
