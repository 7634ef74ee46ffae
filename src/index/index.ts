// The index's public surface: the durable per-connection index of what the target holds
// (docs/INDEX.md), its shapes, and the path order it iterates in.
export { PathIndex } from './path-index.js';
export type { KeyedEntry } from './entry-store.js';
export type { FileAsFound } from './recorded-file.js';
export type { StampRow } from './stamp-rows.js';
export type { StampsAhead } from './stamps-ahead.js';
export type { StampPages } from './stamp-pages.js';
export { comparePaths, fromKey } from './path-key.js';
export { DEFAULT_CACHE_BYTES, SCHEMA_VERSION } from './schema.js';
export {
  DIRTY_ALL,
  DIRTY_CHANGED,
  DIRTY_QUEUING,
  DIRTY_SPILL_A,
  DIRTY_SPILL_B,
  DIRTY_SPILL_FORCE,
  DIRTY_UNSURE,
} from './types.js';
export type {
  BlockList,
  DirtyPath,
  EntryType,
  IndexEntry,
  IndexMeta,
  IndexOptions,
  IndexedPath,
  Tombstone,
} from './types.js';
