// The one classifier of what a path on disk is, in the vocabulary the protocol's listing uses.
import type { Stats } from 'node:fs';
import { isSpecialType, type EntryType } from '../protocol/listing.js';
import type { NodeKind } from '../protocol/ops.js';

/** file, dir or symlink. */
export type { EntryType };

/** What `st` describes; null for the special entries (specialType) and anything else. */
export function entryType(
  st: Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink'>,
): EntryType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  return st.isSymbolicLink() ? 'symlink' : null;
}

/** What the index may hold at a path: the listing's types, or a special entry (`mknod`). */
export type KnownType = EntryType | NodeKind;

/** The special entry `st` describes (fifo, socket, device), or null for anything else. */
export function specialType(
  st: Pick<Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>,
): NodeKind | null {
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char';
  return st.isBlockDevice() ? 'block' : null;
}

/** The type tests of a Stats that tell every kind of entry apart. */
export type TypeTests = Pick<
  Stats,
  | 'isFile'
  | 'isDirectory'
  | 'isSymbolicLink'
  | 'isFIFO'
  | 'isSocket'
  | 'isCharacterDevice'
  | 'isBlockDevice'
>;

/** What `st` is, special entries included; null for a type smr does not replicate. */
export function knownType(st: TypeTests): KnownType | null {
  return entryType(st) ?? specialType(st);
}

/** Whether a known type is a special entry (made by `mknod`): the listing's own test. */
export const isNodeKind: (t: KnownType) => t is NodeKind = isSpecialType;

/**
 * What a scan's consumers read of an entry's lstat (the mirror's steps, the index's records): a
 * Stats has all of it, and so has the stat a lister's worker packed (scan-listed.ts), which the
 * mirror's scan yields instead.
 */
export type ScanStat = Pick<
  Stats,
  'dev' | 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'rdev' | 'size' | 'mtimeMs' | 'ctimeMs'
> &
  TypeTests;
