// lz4 through lz4-napi (napi-rs over lz4_flex, prebuilt). Its block format prepends the
// uncompressed size (u32 little-endian), checked against the declared size before decoding.
import { compressSync, uncompressSync } from 'lz4-napi';
import { SmrError } from '../shared/errors.js';

/** lz4-compresses `data` (size-prepended block). */
export function lz4Compress(data: Buffer): Buffer {
  return compressSync(data);
}

/** Decompresses one size-prepended lz4 block that must hold exactly `size` bytes. */
export function lz4Decompress(data: Buffer, size: number): Buffer {
  if (data.length < 4 || data.readUInt32LE(0) !== size)
    throw new SmrError('protocol', 'an lz4 block does not declare the frame size');
  const out = uncompressSync(data);
  if (out.length !== size)
    throw new SmrError('protocol', `an lz4 block held ${out.length} bytes, not ${size}`);
  return out;
}
