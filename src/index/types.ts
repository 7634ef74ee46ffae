// The shapes the index stores and returns. Paths are bytes (Buffer): relative to the replicated
// root, '/'-separated, no leading or trailing '/', the empty path being the root itself.

/** What kind of file system object an entry is. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

/** One path the target holds because smr sent it: its state as queued, and the seq that did. */
export interface IndexEntry {
  type: EntryType;
  /** Bytes (files), 0 or the link's length for others, as lstat reported it. */
  size: number;
  /** Modification time in nanoseconds since the epoch (lstat with `bigint: true`: `mtimeNs`). */
  mtimeNs: bigint;
  /** st_mode, type bits included. */
  mode: number;
  uid: number;
  gid: number;
  /** Device and inode on the source: rename detection and hard links (a new name, same inode). */
  dev: bigint;
  ino: bigint;
  /** Device number of a char/block device node (0 for everything else). */
  rdev: bigint;
  /** Symlink target, as bytes; null for everything but symlinks. */
  link: Buffer | null;
  /** sha256 of the content sent (32 bytes), when it was computed. */
  sha256: Buffer | null;
  /** Digest of the xattrs and ACLs sent, when any were; equal digests mean nothing to resend. */
  attrDigest: Buffer | null;
  /** The journal seq of the last operation queued for this path (0: none, e.g. found in place). */
  seq: number;
  /**
   * Status-change time in ns as stat gave it when `attrDigest` and the owner were last read, if it
   * was then old enough to prove them (0: unknown). An attribute change always moves the ctime, so
   * an equal ctime now means the stored attributes still hold: no xattr/ACL read is needed.
   */
  ctimeNs: bigint;
}

/** Block hashes of a file's content as last sent (same shape as capture's BlockHashes). */
export interface BlockList {
  blockSize: number;
  /** File size the hashes cover. */
  size: number;
  hashes: BigUint64Array;
}

/** An entry with its path, as iteration and look-ups return it. */
export interface IndexedPath {
  path: Buffer;
  entry: IndexEntry;
  /** Its DIRTY_* flags when its page was read (walks: `entries`, `children`). */
  flags?: number;
}

/** A dirty path with its reasons (DIRTY_* bits). */
export interface DirtyPath {
  path: Buffer;
  flags: number;
}

/** A subtree the target may still hold until `seq` is acknowledged (it was deleted or moved). */
export interface Tombstone {
  path: Buffer;
  seq: number;
}

/** Changed on the source and not queued (queue at its limit, watcher overflow): re-check it. */
export const DIRTY_CHANGED = 1;
/**
 * The target may hold a state this index does not describe (ops were being queued when the process
 * stopped, or the journal lost the record that last touched it): re-check it without a delta basis.
 */
export const DIRTY_UNSURE = 2;
/**
 * Operations for this path were being queued (set before the first append of a capture batch,
 * taken off when the batch recorded its result): found at open, it means DIRTY_UNSURE.
 */
export const DIRTY_QUEUING = 4;
/** Every dirty reason. */
export const DIRTY_ALL = DIRTY_CHANGED | DIRTY_UNSURE | DIRTY_QUEUING;
/**
 * Hinted while capture's work queue was at its limit (src/source/hint-spill.ts): look at it when
 * the queue has room. Two generations, so a step queued behind them waits for a finite set; not
 * in DIRTY_ALL (a check's own marks are cleared with its batch, these only when taken back).
 */
export const DIRTY_SPILL_A = 8;
/** The other generation of DIRTY_SPILL_A. */
export const DIRTY_SPILL_B = 16;
/** A spilled hint that asked for the path to be sent whole. */
export const DIRTY_SPILL_FORCE = 32;

/** The index's bookkeeping against the journal and the target. */
export interface IndexMeta {
  /** The connection epoch the index describes (null: never set). */
  epoch: number | null;
  /** Every journal record up to this seq is reflected in the index. */
  indexedSeq: number;
  /** The highest seq the target acknowledged, as last told to the index. */
  ackedSeq: number;
  /**
   * Every path of the source was compared with the target at least once (a mirror completed), so
   * a path the index lacks is new; false: it may simply never have been sent.
   */
  baseline: boolean;
}

/** Options for opening an index. */
export interface IndexOptions {
  /** SQLite page cache budget in bytes (default 16 MiB): what bounds the index's memory. */
  cacheBytes?: number;
  /** Open without writing (status, tests); the file must exist. */
  readonly?: boolean;
}
