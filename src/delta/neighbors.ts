// What the copies around an unmatched source region say about it: the shifts at which its unchanged
// bytes most likely sit in the target, and which target bytes continue those copies.
import { MID_CHUNK_MAX } from './limits.js';
import type { Match } from './match-chunks.js';
import type { ByteRange } from './ranges.js';

/**
 * Target ranges that continue the copies on either side of each unmatched source region, up to one
 * mid chunk deep. Usually they are unmatched target chunks already (and cost nothing extra); they
 * matter when the target bytes there were matched elsewhere too (moved or duplicated data), where
 * only the chunk straddling the edge of the copy is left to find at fine level.
 */
export function continuations(
  srcRanges: ByteRange[],
  matches: Match[],
  targetSize: number,
): ByteRange[] {
  const bySrc = [...matches].sort((a, b) => a.src - b.src);
  const out: ByteRange[] = [];
  for (const r of srcRanges) {
    const span = Math.min(r.length, MID_CHUNK_MAX);
    const left = bySrc[lastStartingAtOrBefore(bySrc, r.offset - 1)];
    if (left && left.src + left.len === r.offset) {
      out.push({ offset: left.tgt + left.len, length: span });
    }
    const right = bySrc[lastStartingAtOrBefore(bySrc, r.offset + r.length)];
    if (right && right.src === r.offset + r.length) {
      out.push({ offset: right.tgt - span, length: span });
    }
  }
  return out
    .map((c) => ({
      offset: Math.max(0, c.offset),
      length: Math.min(c.offset + c.length, targetSize) - Math.max(0, c.offset),
    }))
    .filter((c) => c.length > 0);
}

/** Source-minus-target shift of the last match starting at or before `pos` (0 when none). */
export function shiftAt(sorted: Match[], pos: number): number {
  const m = sorted[lastStartingAtOrBefore(sorted, pos)];
  return m ? m.src - m.tgt : 0;
}

/** Shift of the first match starting at or after `pos` (`fallback` when none). */
export function shiftAfter(sorted: Match[], pos: number, fallback: number): number {
  const m = sorted[lastStartingAtOrBefore(sorted, pos - 1) + 1];
  return m ? m.src - m.tgt : fallback;
}

// Index of the last match (sorted by src) with src <= pos, or -1.
function lastStartingAtOrBefore(sorted: Match[], pos: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (sorted[m]!.src <= pos) lo = m + 1;
    else hi = m;
  }
  return lo - 1;
}
