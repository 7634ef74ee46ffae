// All-zero data: what a sparse copy leaves as a hole instead of writing (rsync -S).

/** The block size zero detection works in (the common filesystem block). */
export const SPARSE_BLOCK = 4096;

const ZEROS = Buffer.alloc(64 * 1024);

/** True when every byte is zero (compared with memcmp, 64 KiB at a time: a GiB in ~0.1 s). */
export function isAllZero(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at < buf.length; at += ZEROS.length) {
    const part = buf.subarray(at, Math.min(buf.length, at + ZEROS.length));
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/**
 * The runs of `data` (to be written at `position`) split at SPARSE_BLOCK boundaries of the file:
 * each run is all-zero (whole blocks, or the zero piece of one at either end) or anything else.
 * Calls `run` for each, in order.
 */
export async function zeroRuns(
  data: Uint8Array,
  position: number,
  run: (part: Uint8Array, at: number, zero: boolean) => Promise<void>,
): Promise<void> {
  let runStart = 0;
  let runZero: boolean | undefined;
  for (let off = 0; off < data.length;) {
    const end = Math.min(data.length, off + SPARSE_BLOCK - ((position + off) % SPARSE_BLOCK));
    const zero = isAllZero(data.subarray(off, end));
    if (runZero !== undefined && zero !== runZero) {
      await run(data.subarray(runStart, off), position + runStart, runZero);
      runStart = off;
    }
    runZero = zero;
    off = end;
  }
  if (runZero !== undefined) await run(data.subarray(runStart), position + runStart, runZero);
}
