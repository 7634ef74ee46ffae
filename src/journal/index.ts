// The journal's public surface: the durable queue, its shapes, and its named limits.
export {
  ACK_FILE,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_SYNC_INTERVAL_MS,
  HOT_TAIL_BYTES,
  Journal,
  JournalTrimmedError,
  MIN_QUEUE_LIMIT,
  QueueFullError,
  queueLimitFor,
} from './journal.js';
export type { JournalEntry, JournalOptions, JournalReader, JournalRecord } from './journal.js';
export { MAX_DATA_BYTES, MAX_KIND_BYTES, MAX_META_BYTES, MAX_RECORD_BYTES } from './record.js';
