// Replica listings (LIST_ITEMS): on the wire each entry is a compact tuple
// [path, "f"|"d"|"l"|"p"|"s"|"c"|"b", size, mtimeMs, mode, linkTarget|null?, attrStamp|null?,
// inode|null?, [major, minor]?]; both ends work with named entries. Fifos, sockets and devices
// ("p", "s", "c", "b") are listed only to a LIST that asks for them (`specials`), so a peer that
// predates them never meets their letters (docs/PROTOCOL.md).
import { attrStamp, type AttrStamp } from './attrs.js';
import { int, mode, mtime, refuse, relPath, text, type Check } from './check.js';
import type { NodeKind } from './ops.js';

/** What a path is, in the one vocabulary both ends use. */
export type EntryType = 'file' | 'dir' | 'symlink';

/** What a listing may say a path is: an EntryType, or a special entry (fifo, socket, device). */
export type ListedType = EntryType | NodeKind;

/** A wire type letter (fifo `p`, socket `s`, char `c`, block `b`, as `find -type` says). */
export type TypeLetter = 'f' | 'd' | 'l' | 'p' | 's' | 'c' | 'b';

/** One replica entry, named. */
export type ListEntry = {
  path: string;
  type: ListedType;
  size: number;
  mtimeMs: number;
  mode: number;
  /** A symlink's target text. */
  link?: string;
  /** Owner, ns mtime and xattr/ACL digest (protocol/attrs.ts). */
  attrs?: AttrStamp;
  /** A file with more than one name: its inode (`dev:ino`), so names sharing it group. */
  inode?: string;
  /** A char or block device's number, [major, minor]. */
  rdev?: [number, number];
};

/** One replica entry on the wire. */
export type WireListItem = [
  string,
  TypeLetter,
  number,
  number,
  number,
  (string | null)?,
  (AttrStamp | null)?,
  (string | null)?,
  [number, number]?,
];

/** Entries one LIST_ITEMS frame may carry. */
export const MAX_LIST_ITEMS = 4096;

const LETTER: Record<ListedType, TypeLetter> = {
  file: 'f',
  dir: 'd',
  symlink: 'l',
  fifo: 'p',
  socket: 's',
  char: 'c',
  block: 'b',
};
const TYPE: Record<string, ListedType> = Object.fromEntries(
  Object.entries(LETTER).map(([t, l]) => [l, t as ListedType]),
);

/** The entry type of a wire letter (undefined: not one). */
export function letterType(letter: string): ListedType | undefined {
  return TYPE[letter];
}

/** The wire letter of an entry type (also what verify and orphans report). */
export function typeLetter(t: ListedType): TypeLetter {
  return LETTER[t];
}

/** Whether a listed type is a special entry (fifo, socket, device). */
export function isSpecialType(t: ListedType): t is NodeKind {
  return t === 'fifo' || t === 'socket' || t === 'char' || t === 'block';
}

/** The wire form of one entry. */
export function wireListItem(e: ListEntry): WireListItem {
  const item: WireListItem = [e.path, LETTER[e.type], e.size, e.mtimeMs, e.mode];
  const more = e.attrs !== undefined || e.inode !== undefined || e.rdev !== undefined;
  if (e.link !== undefined || more) item.push(e.link ?? null);
  if (more) item.push(e.attrs ?? null);
  if (e.inode !== undefined || e.rdev !== undefined) item.push(e.inode ?? null);
  if (e.rdev !== undefined) item.push(e.rdev);
  return item;
}

const inodeKey: Check<string> = (v, where) =>
  typeof v === 'string' && /^\d{1,20}:\d{1,20}$/.test(v) ? v : refuse(where, 'dev:ino', v);

const devPart = int(0, 2 ** 32 - 1);
const devNumber: Check<[number, number]> = (v, where) =>
  Array.isArray(v) && v.length === 2
    ? [devPart(v[0], `${where}[0]`), devPart(v[1], `${where}[1]`)]
    : refuse(where, '[major, minor]', v);

/** Checks one wire entry and names its fields. */
export const listEntry: Check<ListEntry> = (v, where) => {
  if (!Array.isArray(v) || v.length < 5 || v.length > 9)
    return refuse(where, '[path, type, size, mtimeMs, mode, link?, attrs?, inode?, rdev?]', v);
  const type = typeof v[1] === 'string' && Object.hasOwn(TYPE, v[1]) ? TYPE[v[1]] : undefined;
  if (!type) return refuse(`${where}[1]`, 'one of f|d|l|p|s|c|b', v[1]);
  const e: ListEntry = {
    path: relPath(v[0], `${where}[0]`),
    type,
    size: int()(v[2], `${where}[2]`),
    mtimeMs: mtime(v[3], `${where}[3]`),
    mode: mode(v[4], `${where}[4]`),
  };
  if (v.length >= 6 && v[5] !== null) e.link = text()(v[5], `${where}[5]`);
  if (v.length >= 7 && v[6] !== null) e.attrs = attrStamp(v[6], `${where}[6]`);
  if (v.length >= 8 && v[7] !== null) e.inode = inodeKey(v[7], `${where}[7]`);
  if (v.length === 9) e.rdev = devNumber(v[8], `${where}[8]`);
  return e;
};
