// A replica listing's rows as stored (listing-store.ts) and as handed out: one path's entry.
import { nameFromBytes } from '../shared/name-bytes.js';
import { fromKey } from './path-key.js';

/** What a listing says of one path (the replica's entry, as protocol/listing.ts names it). */
export interface ListedRow {
  path: string;
  type: (typeof TYPES)[number];
  size: number;
  mtimeMs: number;
  mode: number;
  link?: string;
  attrs?: string;
  inode?: string;
  /** A device's [major, minor]. */
  rdev?: [number, number];
}

/** A stored row, by column name (`SELECT *`). */
export type Raw = {
  key: Buffer;
  type: number;
  size: number;
  mtime: number;
  mode: number;
  link: Buffer | null;
  attrs: string | null;
  inode: string | null;
  rdev: string | null;
};

/** A stored row as a raw read gives it: the columns in table order. */
export type RawArray = [
  Buffer,
  number,
  number,
  number,
  number,
  Buffer | null,
  string | null,
  string | null,
  string | null,
];

/** A row read raw (an array, which better-sqlite3 builds several times faster than an object). */
export const fromArray = (a: RawArray): Raw => {
  const [key, type, size, mtime, mode, link, attrs, inode, rdev] = a;
  return { key, type, size, mtime, mode, link, attrs, inode, rdev };
};

// Codes are the row's type; new types only ever appended.
const TYPES = ['file', 'dir', 'symlink', 'fifo', 'socket', 'char', 'block'] as const;
export const TYPE_CODE = Object.fromEntries(TYPES.map((t, i) => [t, i])) as Record<
  ListedRow['type'],
  number
>;

/** The row as the listing hands it out (`path`: its path, when the caller has it already). */
export function row(r: Raw, path?: string): ListedRow {
  const out: ListedRow = {
    path: path ?? nameFromBytes(fromKey(r.key)),
    type: TYPES[r.type] ?? 'file',
    size: r.size,
    mtimeMs: r.mtime,
    mode: r.mode,
  };
  if (r.link !== null) out.link = nameFromBytes(r.link);
  if (r.attrs !== null) out.attrs = r.attrs;
  if (r.inode !== null) out.inode = r.inode;
  if (r.rdev !== null) out.rdev = r.rdev.split(':').map(Number) as [number, number];
  return out;
}
