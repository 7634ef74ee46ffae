// Replica listings (LIST_ITEMS): on the wire each entry is a compact tuple
// [path, "f"|"d"|"l", size, mtimeMs, mode, linkTarget|null?, attrStamp|null?, inode?]; both ends
// work with named entries.
import { attrStamp, type AttrStamp } from './attrs.js';
import { int, mode, mtime, refuse, relPath, text, type Check } from './check.js';

/** What a path is, in the one vocabulary both ends use. */
export type EntryType = 'file' | 'dir' | 'symlink';

/** One replica entry, named. */
export type ListEntry = {
  path: string;
  type: EntryType;
  size: number;
  mtimeMs: number;
  mode: number;
  /** A symlink's target text. */
  link?: string;
  /** Owner, ns mtime and xattr/ACL digest (protocol/attrs.ts). */
  attrs?: AttrStamp;
  /** A file with more than one name: its inode (`dev:ino`), so names sharing it group. */
  inode?: string;
};

/** One replica entry on the wire. */
export type WireListItem = [
  string,
  'f' | 'd' | 'l',
  number,
  number,
  number,
  (string | null)?,
  (AttrStamp | null)?,
  string?,
];

/** Entries one LIST_ITEMS frame may carry. */
export const MAX_LIST_ITEMS = 4096;

const LETTER: Record<EntryType, 'f' | 'd' | 'l'> = { file: 'f', dir: 'd', symlink: 'l' };
const TYPE: Record<string, EntryType> = { f: 'file', d: 'dir', l: 'symlink' };

/** The wire letter of an entry type (also what verify and orphans report). */
export function typeLetter(t: EntryType): 'f' | 'd' | 'l' {
  return LETTER[t];
}

/** The wire form of one entry. */
export function wireListItem(e: ListEntry): WireListItem {
  const item: WireListItem = [e.path, LETTER[e.type], e.size, e.mtimeMs, e.mode];
  const more = e.attrs !== undefined || e.inode !== undefined;
  if (e.link !== undefined || more) item.push(e.link ?? null);
  if (more) item.push(e.attrs ?? null);
  if (e.inode !== undefined) item.push(e.inode);
  return item;
}

const inodeKey: Check<string> = (v, where) =>
  typeof v === 'string' && /^\d{1,20}:\d{1,20}$/.test(v) ? v : refuse(where, 'dev:ino', v);

/** Checks one wire entry and names its fields. */
export const listEntry: Check<ListEntry> = (v, where) => {
  if (!Array.isArray(v) || v.length < 5 || v.length > 8)
    return refuse(where, '[path, type, size, mtimeMs, mode, link?, attrs?, inode?]', v);
  const type = typeof v[1] === 'string' && Object.hasOwn(TYPE, v[1]) ? TYPE[v[1]] : undefined;
  if (!type) return refuse(`${where}[1]`, 'one of f|d|l', v[1]);
  const e: ListEntry = {
    path: relPath(v[0], `${where}[0]`),
    type,
    size: int()(v[2], `${where}[2]`),
    mtimeMs: mtime(v[3], `${where}[3]`),
    mode: mode(v[4], `${where}[4]`),
  };
  if (v.length >= 6 && v[5] !== null) e.link = text()(v[5], `${where}[5]`);
  if (v.length >= 7 && v[6] !== null) e.attrs = attrStamp(v[6], `${where}[6]`);
  if (v.length === 8) e.inode = inodeKey(v[7], `${where}[7]`);
  return e;
};
