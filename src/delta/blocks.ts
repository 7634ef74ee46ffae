// Flat block hashes for real-time capture: hash a file's fixed blocks after each change and send
// only the blocks whose hash moved since the last state sent (no round trip: both states are local).
import type { Stats } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { blockHash, FileHasher, initHash, sha256Hex } from './hash.js';
import { IO_BUFFER_BYTES, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './limits.js';
import type { ByteRange } from './ranges.js';
import { openRead, ReadAhead } from './reader.js';
import { readSmallStat, readSmallSync } from './small-file.js';

/** A file's state as capture remembers it: xxh64 per fixed block, plus its whole-file sha256. */
export interface BlockHashes {
  size: number;
  blockSize: number;
  hashes: BigUint64Array;
  sha256: string;
}

/** Hashes every block of a file in one streaming pass (the last block may be short). */
export async function hashBlocks(path: string, blockSize: number): Promise<BlockHashes> {
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new SmrError('usage', `block size ${blockSize} out of range`);
  }
  await initHash();
  const small = readSmallSync(path);
  if (small) return hashBuffer(small, blockSize);
  const fh = await openRead(path);
  const statSize = (await fh.stat()).size;
  // Buffers no larger than the file (in whole blocks, one byte over to see EOF in one read): two
  // 2 MiB buffers per small file made a checksum compare of many small files mostly GC.
  const fit = Math.ceil((statSize + 1) / blockSize) * blockSize;
  const reader = new ReadAhead(fh, 0, Number.MAX_SAFE_INTEGER, Math.min(readSize(blockSize), fit));
  try {
    const hasher = new FileHasher();
    let hashes: BigUint64Array = new BigUint64Array(Math.ceil(statSize / blockSize) + 1);
    let size = 0;
    let n = 0;
    for (let buf = await reader.read(); buf.length > 0; buf = await reader.read()) {
      for (let off = 0; off < buf.length; off += blockSize) {
        if (n === hashes.length) hashes = grow(hashes); // the file grew while being read
        hashes[n++] = blockHash(buf.subarray(off, Math.min(off + blockSize, buf.length)));
      }
      hasher.update(buf);
      size += buf.length;
    }
    return { size, blockSize, hashes: hashes.slice(0, n), sha256: hasher.digest() };
  } finally {
    await reader.settle();
    await fh.close();
  }
}

/**
 * hashBlocks of a small regular file expected to hold `size` bytes, with its stat taken on the
 * open file after the read (small-file.ts readSmallStat): what was hashed is what that stat
 * describes. Null: take hashBlocks (not small, not a regular file, or not `size` bytes). Needs
 * initHash() resolved.
 */
export function hashSmallStat(
  path: string,
  blockSize: number,
  size: number,
): { blocks: BlockHashes; st: Stats } | null {
  const r = readSmallStat(path, size);
  return r && { blocks: hashBuffer(r.buf, blockSize), st: r.st };
}

/** hashBlocks of content already in memory (initHash() must have resolved). */
function hashBuffer(buf: Buffer, blockSize: number): BlockHashes {
  const hashes = new BigUint64Array(Math.ceil(buf.length / blockSize));
  for (let i = 0, off = 0; off < buf.length; i++, off += blockSize)
    hashes[i] = blockHash(buf.subarray(off, Math.min(off + blockSize, buf.length)));
  return { size: buf.length, blockSize, hashes, sha256: sha256Hex(buf) };
}

// Reads are whole blocks, so only the last read of the file can end in a short block.
function readSize(blockSize: number): number {
  return Math.max(1, Math.floor(IO_BUFFER_BYTES / 2 / blockSize)) * blockSize;
}

function grow(a: BigUint64Array): BigUint64Array {
  const b = new BigUint64Array(a.length * 2 + 1);
  b.set(a);
  return b;
}

/**
 * Byte ranges of `next` that differ from `prev`, adjacent changed blocks merged. No usable prev
 * (new file, other block size) means the whole file; a block whose length changed counts as
 * changed; bytes past next.size are not ranges (the caller truncates).
 */
export function changedBlocks(
  prev: Pick<BlockHashes, 'size' | 'blockSize' | 'hashes'> | undefined,
  next: Pick<BlockHashes, 'size' | 'blockSize' | 'hashes'>,
): ByteRange[] {
  if (next.size === 0) return [];
  if (!prev || prev.blockSize !== next.blockSize) return [{ offset: 0, length: next.size }];
  const B = next.blockSize;
  const out: ByteRange[] = [];
  for (let i = 0; i < next.hashes.length; i++) {
    const offset = i * B;
    const len = Math.min(B, next.size - offset);
    const prevLen = Math.min(B, prev.size - offset);
    if (len === prevLen && prev.hashes[i] === next.hashes[i]) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length += len;
    else out.push({ offset, length: len });
  }
  return out;
}
