// Hierarchical signatures of a target's copy: coarse (whole file, ~1 MiB content-defined chunks),
// mid (~32 KiB chunks inside the coarse chunks the source could not match) and fine (4 KiB blocks
// with a rolling checksum, inside the mid chunks still unmatched). Each level is asked for only
// where the level above found a difference, so unchanged data costs ~12 bytes per MiB.
import { SmrError } from '../shared/errors.js';
import { ChunkListBuilder, chunkRange, type ChunkList } from './chunks.js';
import { blockHash, FileHasher, initHash, type StreamBlockHasher } from './hash.js';
import { FINE_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './limits.js';
import { mergeRanges, type ByteRange } from './ranges.js';
import { FileWindow, openRead } from './reader.js';
import { weakChecksum } from './rolling.js';

/** Coarse level: the whole file as content-defined chunks, optionally with its sha256. */
export interface CoarseSignature {
  size: number;
  /** sha256 of the file when asked for: lets the source prove "unchanged" and skip everything. */
  sha256: string | undefined;
  chunks: ChunkList;
  /** The file's mid chunks from the same pass; kept locally to answer mid requests, never sent. */
  mids?: ChunkList;
}

/** Mid level: the content-defined mid chunks of some ranges (each starting at a coarse cut). */
export interface MidSignature {
  ranges: ByteRange[];
  chunks: ChunkList;
}

/** Fine level: for blocks laid from the start of each range, a weak and a strong checksum. */
export interface FineSignature {
  blockSize: number;
  ranges: ByteRange[];
  weak: Uint32Array;
  strong: BigUint64Array;
}

/**
 * Coarse signature of a whole file in one streaming pass (mid chunks kept for later requests).
 * `sha256: true` adds the file's hash (+~0.6 ns/byte) so an unchanged file costs no delta at all;
 * `blocks` is fed every byte too (the source's block hashes for capture, from the same read).
 */
export async function coarseSignature(
  path: string,
  options: { sha256?: boolean; blocks?: StreamBlockHasher } = {},
): Promise<CoarseSignature> {
  await initHash();
  const coarse = new ChunkListBuilder();
  const mids = new ChunkListBuilder();
  const sha = options.sha256 ? new FileHasher() : undefined;
  const blocks = options.blocks;
  const hasher =
    sha && blocks
      ? { update: (b: Uint8Array) => (sha.update(b), blocks.update(b)) }
      : (sha ?? blocks);
  const fh = await openRead(path);
  try {
    const size = await chunkRange(
      fh,
      { offset: 0, length: Number.MAX_SAFE_INTEGER },
      {
        mid: (o, l, h) => mids.push(o, l, h),
        coarse: (c) => coarse.push(c.offset, c.length, c.hash),
      },
      hasher,
    );
    return { size, sha256: sha?.digest(), chunks: coarse.finish(), mids: mids.finish() };
  } finally {
    await fh.close();
  }
}

/** An empty signature, for a target that has no copy of the file. */
export function emptyCoarseSignature(): CoarseSignature {
  const chunks = new ChunkListBuilder().finish();
  return { size: 0, sha256: undefined, chunks, mids: chunks };
}

/**
 * Mid signature of ranges that start at coarse cuts. Answered from the coarse pass's kept mid
 * chunks when the range lines up with them, otherwise by chunking the range again.
 */
export async function midSignature(
  path: string,
  ranges: readonly ByteRange[],
  cached?: CoarseSignature,
): Promise<MidSignature> {
  await initHash();
  const merged = mergeRanges(ranges);
  const out = new ChunkListBuilder();
  const fh = await openRead(path);
  try {
    for (const r of merged) {
      if (cached?.mids && copyCachedMids(cached.mids, r, out)) continue;
      await chunkRange(fh, r, { mid: (o, l, h) => out.push(o, l, h) });
    }
  } finally {
    await fh.close();
  }
  return { ranges: merged, chunks: out.finish() };
}

// Copies the cached mid chunks tiling `r` exactly; false (nothing copied) when they do not.
function copyCachedMids(mids: ChunkList, r: ByteRange, out: ChunkListBuilder): boolean {
  let lo = 0;
  let hi = mids.offsets.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (mids.offsets[m]! < r.offset) lo = m + 1;
    else hi = m;
  }
  let end = r.offset;
  let k = lo;
  for (; k < mids.offsets.length && end < r.offset + r.length; k++) {
    if (mids.offsets[k] !== end) return false;
    end += mids.lengths[k]!;
  }
  if (end !== r.offset + r.length) return false;
  for (let i = lo; i < k; i++) out.push(mids.offsets[i]!, mids.lengths[i]!, mids.hashes[i]!);
  return true;
}

/** Number of fine blocks laid over `ranges` (the last block of each range may be short). */
export function fineBlockCount(ranges: readonly ByteRange[], blockSize: number): number {
  return ranges.reduce((n, r) => n + Math.ceil(r.length / blockSize), 0);
}

/** Fine signature of ranges of a file (clamped to its size), blocks laid from each range's start. */
export async function fineSignature(
  path: string,
  ranges: readonly ByteRange[],
  blockSize = FINE_BLOCK_SIZE,
): Promise<FineSignature> {
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new SmrError('protocol', `fine block size ${blockSize} out of range`);
  }
  await initHash();
  const fh = await openRead(path);
  try {
    const size = (await fh.stat()).size;
    const clamped = mergeRanges(
      ranges.map((r) => ({ offset: r.offset, length: Math.min(r.length, size - r.offset) })),
    );
    const n = fineBlockCount(clamped, blockSize);
    const weak = new Uint32Array(n);
    const strong = new BigUint64Array(n);
    const win = new FileWindow(fh, size);
    let k = 0;
    for (const r of clamped) {
      for (let pos = r.offset, end = r.offset + r.length; pos < end; pos += blockSize, k++) {
        const len = Math.min(blockSize, end - pos);
        if (!win.has(pos, len) && !(await win.ensure(pos, len, end))) {
          throw new SmrError('io', `${path} shrank while its signature was being computed`);
        }
        weak[k] = weakChecksum(win.buf, pos - win.start, len);
        strong[k] = blockHash(win.view(pos, len));
      }
    }
    return { blockSize, ranges: clamped, weak, strong };
  } finally {
    await fh.close();
  }
}
