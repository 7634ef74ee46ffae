// Chunk-level matching (coarse and mid): content-defined chunks are found by hash wherever they
// moved to, so inserted or deleted bytes disturb only the chunks that contain them.
import type { ChunkList } from './chunks.js';
import type { ByteRange } from './ranges.js';

/** Source bytes [src, src + len) equal target bytes [tgt, tgt + len). */
export interface Match {
  src: number;
  len: number;
  tgt: number;
}

/** Which source chunks matched and which target chunks were used by some match. */
export interface ChunkMatchResult {
  srcMatched: Uint8Array;
  tgtUsed: Uint8Array;
}

/**
 * Matches the selected source chunks to target chunks of equal hash and length, appending to
 * `out`. When the same content occurs more than once (runs of zeros), the target chunk right after
 * the previous match is preferred, then the one at the same offset: copies stay long and in place.
 */
export function matchChunks(
  src: ChunkList,
  selected: Uint8Array | undefined,
  tgt: ChunkList,
  out: Match[],
): ChunkMatchResult {
  const byHash = new Map<bigint, number>();
  for (let k = tgt.hashes.length - 1; k >= 0; k--) byHash.set(tgt.hashes[k]!, k);
  const srcMatched = new Uint8Array(src.hashes.length);
  const tgtUsed = new Uint8Array(tgt.hashes.length);
  let nextTgt = -1;
  for (let i = 0; i < src.hashes.length; i++) {
    if (selected && !selected[i]) continue;
    const h = src.hashes[i]!;
    const len = src.lengths[i]!;
    const same = chunkAt(tgt, src.offsets[i]!);
    let k = byHash.get(h) ?? -1;
    if (same >= 0 && tgt.hashes[same] === h) k = same;
    if (nextTgt >= 0 && tgt.hashes[nextTgt] === h) k = nextTgt;
    if (k >= 0 && tgt.lengths[k] !== len) k = -1;
    if (k < 0) continue;
    srcMatched[i] = 1;
    tgtUsed[k] = 1;
    nextTgt = k + 1 < tgt.hashes.length ? k + 1 : -1;
    pushMatch(out, src.offsets[i]!, len, tgt.offsets[k]!);
  }
  return { srcMatched, tgtUsed };
}

/** Index of the chunk starting exactly at `offset`, or -1 (offsets are sorted). */
export function chunkAt(list: ChunkList, offset: number): number {
  let lo = 0;
  let hi = list.offsets.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (list.offsets[m]! < offset) lo = m + 1;
    else hi = m;
  }
  return lo < list.offsets.length && list.offsets[lo] === offset ? lo : -1;
}

/** Appends a match, extending the previous one when both sides continue it. */
export function pushMatch(out: Match[], src: number, len: number, tgt: number): void {
  const last = out[out.length - 1];
  if (last && last.src + last.len === src && last.tgt + last.len === tgt) last.len += len;
  else out.push({ src, len, tgt });
}

/** Ranges covered by runs of chunks with `flags[i] === want` (and selected, when given). */
export function chunkRuns(
  list: ChunkList,
  flags: Uint8Array,
  want: 0 | 1,
  selected?: Uint8Array,
): ByteRange[] {
  const out: ByteRange[] = [];
  for (let i = 0; i < list.offsets.length; i++) {
    if (flags[i] !== want || (selected && !selected[i])) continue;
    const offset = list.offsets[i]!;
    const length = list.lengths[i]!;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length });
  }
  return out;
}

/** Marks the chunks of `list` that lie inside `ranges` (both sorted, chunks nested in ranges). */
export function selectChunks(list: ChunkList, ranges: readonly ByteRange[]): Uint8Array {
  const sel = new Uint8Array(list.offsets.length);
  let r = 0;
  for (let i = 0; i < list.offsets.length; i++) {
    const off = list.offsets[i]!;
    while (r < ranges.length && ranges[r]!.offset + ranges[r]!.length <= off) r++;
    const range = ranges[r];
    if (range && off >= range.offset) sel[i] = 1;
  }
  return sel;
}
