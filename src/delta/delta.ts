// Source side of mirror/verify: match the source file against the target's signatures level by
// level (coarse chunks, mid chunks, fine blocks), asking for each finer level only where the level
// above found differences, then stream copy/literal instructions.
import { coverInstructions, type DeltaInstruction, type DeltaStats } from './instructions.js';
import { FINE_BLOCK_SIZE, MID_SKIP_BYTES } from './limits.js';
import { BlockMatcher } from './match-blocks.js';
import { chunkRuns, matchChunks, selectChunks, type Match } from './match-chunks.js';
import { continuations, shiftAfter, shiftAt } from './neighbors.js';
import { alignRanges, totalLength, widenRanges, type ByteRange } from './ranges.js';
import type { StreamBlockHasher } from './hash.js';
import { FileWindow, openRead } from './reader.js';
import {
  coarseSignature,
  type CoarseSignature,
  type FineSignature,
  type MidSignature,
} from './signature.js';

/** How the source obtains finer target signatures: each call is one round trip on the network. */
export interface SignatureFetcher {
  /** Mid chunks of target ranges (runs of coarse chunks the source did not find). */
  mid(ranges: ByteRange[]): Promise<MidSignature>;
  /** Fine blocks of target ranges (aligned to blockSize). */
  fine(ranges: ByteRange[], blockSize: number): Promise<FineSignature>;
}

/** The outcome of matching: what the rebuilt file must be, and the instructions that build it. */
export interface DeltaPlan {
  size: number;
  sha256: string;
  /** True when the target's sha256 (sent in its coarse signature) proves it already equals the source. */
  unchanged: boolean;
  stats: DeltaStats;
  /** Single-use; literal data is read from the source lazily, in bounded chunks. */
  instructions: AsyncGenerator<DeltaInstruction>;
}

/**
 * Builds the delta that turns the target's copy (described by `target`) into the source file.
 * `target` may still be on its way: the source's own pass runs meanwhile. `known.sha256` is the
 * source file's hash when the caller just computed it (one pass fewer); if the file changed since,
 * the rebuilt file fails its proof on the target and is resent whole. `known.blocks` is fed the
 * source file by the same pass (block hashes of exactly the bytes the plan describes).
 */
export async function buildDelta(
  sourcePath: string,
  target: CoarseSignature | Promise<CoarseSignature>,
  fetch: SignatureFetcher,
  known: { sha256?: string; blocks?: StreamBlockHasher } = {},
): Promise<DeltaPlan> {
  const [src, tgt] = await Promise.all([
    coarseSignature(sourcePath, { sha256: known.sha256 === undefined, blocks: known.blocks }),
    target,
  ]);
  return planFrom(sourcePath, src, tgt, fetch, known.sha256 ?? src.sha256 ?? '');
}

async function planFrom(
  sourcePath: string,
  src: CoarseSignature,
  target: CoarseSignature,
  fetch: SignatureFetcher,
  sha256: string,
): Promise<DeltaPlan> {
  const stats: DeltaStats = { copyBytes: 0, literalBytes: 0, instructions: 0, roundTrips: 0 };
  const unchanged = target.sha256 === sha256 && target.size === src.size;
  const matches = unchanged
    ? [{ src: 0, len: src.size, tgt: 0 }]
    : await matchLevels(sourcePath, src, target, fetch, stats);
  async function* instructions(): AsyncGenerator<DeltaInstruction> {
    const fh = await openRead(sourcePath);
    try {
      yield* coverInstructions(fh, src.size, matches, stats);
    } finally {
      await fh.close();
    }
  }
  return { size: src.size, sha256, unchanged, stats, instructions: instructions() };
}

// Coarse, then (for big differences) mid, then fine; each level narrows both sides' unmatched ranges.
async function matchLevels(
  sourcePath: string,
  src: CoarseSignature,
  target: CoarseSignature,
  fetch: SignatureFetcher,
  stats: DeltaStats,
): Promise<Match[]> {
  const matches: Match[] = [];
  const coarse = matchChunks(src.chunks, undefined, target.chunks, matches);
  let tgtRanges = chunkRuns(target.chunks, coarse.tgtUsed, 0);
  let srcRanges = chunkRuns(src.chunks, coarse.srcMatched, 0);
  if (tgtRanges.length === 0 || srcRanges.length === 0) return matches;
  if (totalLength(tgtRanges) > MID_SKIP_BYTES && src.mids) {
    const mid = await fetch.mid(tgtRanges);
    stats.roundTrips++;
    const selected = selectChunks(src.mids, srcRanges);
    const m = matchChunks(src.mids, selected, mid.chunks, matches);
    tgtRanges = chunkRuns(mid.chunks, m.tgtUsed, 0);
    srcRanges = chunkRuns(src.mids, m.srcMatched, 0, selected);
    if (tgtRanges.length === 0 || srcRanges.length === 0) return matches;
  }
  const wanted = [...tgtRanges, ...continuations(srcRanges, matches, target.size)];
  const fine = await fetch.fine(alignRanges(wanted, FINE_BLOCK_SIZE, target.size), FINE_BLOCK_SIZE);
  stats.roundTrips++;
  await matchFine(sourcePath, src.size, fine, srcRanges, matches);
  return matches;
}

// Rolls over each unmatched source region widened by one block (so blocks straddling its edges and
// shifted data still match), knowing the shifts of the copies on either side of it.
async function matchFine(
  sourcePath: string,
  size: number,
  fine: FineSignature,
  srcRanges: ByteRange[],
  matches: Match[],
): Promise<void> {
  if (fine.weak.length === 0) return;
  const regions = widenRanges(srcRanges, fine.blockSize, size);
  const before = [...matches].sort((a, b) => a.src - b.src);
  const fh = await openRead(sourcePath);
  try {
    const matcher = new BlockMatcher(fine, new FileWindow(fh, size));
    for (const r of regions) {
      const left = shiftAt(before, r.offset);
      await matcher.matchRegion(
        r,
        left,
        shiftAfter(before, r.offset + r.length - fine.blockSize, left),
        matches,
      );
    }
  } finally {
    await fh.close();
  }
}
