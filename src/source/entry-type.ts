// The one classifier of what a path on disk is, in the vocabulary the protocol's listing uses.
import type { Stats } from 'node:fs';
import type { EntryType } from '../protocol/listing.js';

/** file, dir or symlink. */
export type { EntryType };

/** What `st` describes; null for what smr does not replicate (sockets, FIFOs, devices). */
export function entryType(
  st: Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink'>,
): EntryType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  return st.isSymbolicLink() ? 'symlink' : null;
}
