// The journal's options: their defaults, and the check that turns what a caller passed into
// settings (a bad value is a usage error, before any file is touched).
import { SmrError } from '../shared/errors.js';
import { HOT_TAIL_BYTES } from './hot-tail.js';
import type { JournalOptions } from './types.js';
import type { WriterSettings } from './writer.js';

/** Default segment size: big enough that rollover and its fsyncs are rare. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default group-commit window: the most a power loss can take from the un-synced tail. */
export const DEFAULT_SYNC_INTERVAL_MS = 20;

/** Every option, defaulted and checked. */
export interface JournalSettings extends WriterSettings {
  hotTailBytes: number;
}

/** The settings for `opts`; throws SmrError('usage') on a value out of range. */
export function resolveOptions(opts: JournalOptions): JournalSettings {
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const syncIntervalMs = opts.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  const hotTailBytes = opts.hotTailBytes ?? HOT_TAIL_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
    throw new SmrError(
      'usage',
      `journal segmentBytes must be a positive integer, got ${segmentBytes}`,
    );
  }
  if (!Number.isFinite(syncIntervalMs) || syncIntervalMs < 0) {
    throw new SmrError('usage', `journal syncIntervalMs must be >= 0, got ${syncIntervalMs}`);
  }
  if (!Number.isSafeInteger(hotTailBytes) || hotTailBytes < 0) {
    throw new SmrError(
      'usage',
      `journal hotTailBytes must be an integer >= 0, got ${hotTailBytes}`,
    );
  }
  return { segmentBytes, syncIntervalMs, hotTailBytes };
}
