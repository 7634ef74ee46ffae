// Byte ranges: the currency between levels (which parts of a file to describe, match or send).

/** A half-open byte range [offset, offset + length) of a file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Sorts ranges and merges overlapping or touching ones; drops empty ranges. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else {
      out.push({ offset: r.offset, length: r.length });
    }
  }
  return out;
}

/** Widens each range to whole blocks of `blockSize` (absolute grid), clamps to `size`, merges. */
export function alignRanges(
  ranges: readonly ByteRange[],
  blockSize: number,
  size: number,
): ByteRange[] {
  return mergeRanges(
    ranges.map((r) => {
      const start = Math.floor(r.offset / blockSize) * blockSize;
      const end = Math.min(size, Math.ceil((r.offset + r.length) / blockSize) * blockSize);
      return { offset: start, length: Math.max(0, end - start) };
    }),
  );
}

/** Grows each range by `slack` bytes on both sides, clamps to [0, size), merges. */
export function widenRanges(
  ranges: readonly ByteRange[],
  slack: number,
  size: number,
): ByteRange[] {
  return mergeRanges(
    ranges.map((r) => {
      const start = Math.max(0, r.offset - slack);
      const end = Math.min(size, r.offset + r.length + slack);
      return { offset: start, length: Math.max(0, end - start) };
    }),
  );
}

/** Sum of the ranges' lengths. */
export function totalLength(ranges: readonly ByteRange[]): number {
  return ranges.reduce((n, r) => n + r.length, 0);
}
