// Whole file or delta? A delta costs up to three round trips of signatures before any data moves,
// so it only pays for files big enough that re-sending them costs more than that.
import { DELTA_MIN_FILE_BYTES } from './limits.js';

/** Round trips a delta may need: coarse signature, mid signature, fine signature. */
export const DELTA_ROUND_TRIPS = 3;

/** Optional knowledge about the link, to weigh round trips against bytes. */
export interface WholeFileOptions {
  /** Files (source or target side) at or below this are sent whole; default DELTA_MIN_FILE_BYTES. */
  minDeltaBytes?: number;
  /** Measured round-trip time of the connection. */
  rttMs?: number;
  /** Measured or configured throughput of the connection. */
  bytesPerSecond?: number;
}

/**
 * True when the source file should be sent whole: the target has no copy (targetSize undefined
 * or 0), either side is tiny (little to reuse, and signatures plus round trips cost more than the
 * bytes), or the whole file goes through the link faster than the delta's round trips.
 */
export function shouldSendWhole(
  sourceSize: number,
  targetSize: number | undefined,
  options: WholeFileOptions = {},
): boolean {
  if (targetSize === undefined || targetSize <= 0 || sourceSize <= 0) return true;
  const min = options.minDeltaBytes ?? DELTA_MIN_FILE_BYTES;
  if (sourceSize <= min || targetSize <= min) return true;
  const { rttMs, bytesPerSecond } = options;
  if (rttMs !== undefined && bytesPerSecond !== undefined) {
    return sourceSize <= (DELTA_ROUND_TRIPS * rttMs * bytesPerSecond) / 1000;
  }
  return false;
}
