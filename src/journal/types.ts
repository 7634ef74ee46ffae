// The journal's public shapes, kept apart so record, reader and journal can share them without cycles.

/** What callers append: an operation kind, JSON-able metadata and optional payload bytes. */
export interface JournalEntry {
  kind: string;
  meta: Record<string, unknown>;
  data?: Buffer;
  /**
   * The caller hands `data` over: nothing writes to it again, so the journal's hot tail may keep
   * it as it is instead of a copy. (Most of a mirror's bytes: a copy each was a large share of
   * the source's allocations and garbage collection.)
   */
  handOver?: boolean;
}

/** An entry as stored: its position in the stream and its encoded size on disk. */
export interface JournalRecord extends JournalEntry {
  seq: number;
  size: number;
}

/** Tuning knobs; the defaults suit a replication connection on ordinary disks. */
export interface JournalOptions {
  /** A segment is rolled over once it reaches this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Group-commit window: at most one fdatasync per this many ms while appends are unsynced (default 20). */
  syncIntervalMs?: number;
  /**
   * Bound on the hot tail, the newest records kept in memory for readers that keep up (default
   * 16 MiB, HOT_TAIL_BYTES); 0 turns it off and every read goes to disk.
   */
  hotTailBytes?: number;
}

/** Sequential reader over the journal, from a given seq onwards (hot tail or disk). */
export interface JournalReader {
  /**
   * The next record, or null when caught up with lastSeq (wait for onAppend, then call again).
   * Its data must not be modified: from the hot tail it is a view of the bytes kept there.
   */
  next(): Promise<JournalRecord | null>;
  /** Releases the open segment file. */
  close(): Promise<void>;
}
