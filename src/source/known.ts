// What capture knows the target holds at one path, as read from the index: the stat it was queued
// with and whether the target's copy can be trusted to be that (not "unsure"). Conversions between
// a stat and an index entry live here, and so do the comparisons capture makes with them.
import type { Stats } from 'node:fs';
import type { IndexEntry } from '../index/index.js';
import { nameBytes, nameFromBytes } from '../fsmeta/index.js';
import { entryType, type KnownType, type ScanStat } from './entry-type.js';

/** One path as the index knows it. */
export interface Known {
  type: KnownType;
  dev: number;
  ino: number;
  size: number;
  /** Modification time in ns (see mtimeNsOf). */
  mtimeNs: bigint;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  link?: string;
  /** The seq of the last operation queued for the path (0: none in this stream). */
  seq: number;
  /** The target may hold something else (DIRTY_UNSURE): never a delta basis, resent whole. */
  unsure: boolean;
  /** Owner, ns mtime and xattr/ACL digests last sent (entry-attrs.ts); absent: not carried. */
  stamp?: string;
  /** The ctime (ctimeNsOf) that proves `stamp` still holds (0n: none does; read it again). */
  ctimeNs: bigint;
}

/** The stat fields capture compares. */
export type Stamp = Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'mode'>;

/**
 * A stat's mtime in ns, as stored. Node's Stats carry it as a double of milliseconds (~0.24 µs
 * apart at today's dates); this is the same function of that double every time, so equal stats
 * give equal values and mtimes a microsecond apart differ.
 */
export function mtimeNsOf(st: Pick<Stats, 'mtimeMs'>): bigint {
  return BigInt(Math.round(st.mtimeMs * 1e6));
}

/** A stat's ctime in ns, the same function of Node's double as mtimeNsOf. */
export function ctimeNsOf(st: Pick<Stats, 'ctimeMs'>): bigint {
  return BigInt(Math.round(st.ctimeMs * 1e6));
}

/**
 * How long before an attribute read a ctime must be to prove what was read. File systems stamp
 * ctimes from a coarse clock (a tick of 1-10 ms), so a change in the tick of a ctime can leave it
 * equal; a ctime older than the read by more than this cannot hide a later change (git's "racy
 * clean" rule). Generous, against clocks stepped by a little.
 */
const RACY_NS = 2_000_000_000n;

/**
 * The ctime to keep with attributes read at `readAt` (Date.now() before the read) for an entry
 * whose stat is `st`: its ctime if that is old enough to prove them, else 0n (not proven).
 */
export function provingCtime(st: Pick<Stats, 'ctimeMs'>, readAt: number): bigint {
  const c = ctimeNsOf(st);
  return c + RACY_NS < BigInt(Math.floor(readAt)) * 1_000_000n ? c : 0n;
}

/** Whether the same inode's ctime now is the one that proved its stored attribute stamp. */
export function stampProven(
  k: Pick<Known, 'stamp' | 'ctimeNs' | 'dev' | 'ino'>,
  st: Pick<Stats, 'ctimeMs' | 'dev' | 'ino'>,
): boolean {
  return k.stamp !== undefined && ctimeProves(k, st);
}

/** stampProven without the stamp's value: a stored proving ctime, and the same inode's now. */
export function ctimeProves(
  k: Pick<Known, 'ctimeNs' | 'dev' | 'ino'>,
  st: Pick<Stats, 'ctimeMs' | 'dev' | 'ino'>,
): boolean {
  return k.ctimeNs !== 0n && sameInode(k, st) && ctimeNsOf(st) === k.ctimeNs;
}

/**
 * knownIs and ctimeProves for an index row whose ns are exact doubles (StampRow: NaN where the
 * stored value has none). BigInt(x) === ns holds exactly when x === Number(ns) for an ns that a
 * double holds, and never for one it does not (x is a double): the same answers without a BigInt
 * per entry, a no-change restart's million of them.
 */
export interface RowStamp {
  type: KnownType;
  dev: number;
  ino: number;
  size: number;
  mode: number;
  mtimeNs: number;
  ctimeNs: number;
}

/** knownIs for a RowStamp. */
export function rowIs(k: RowStamp, st: Stamp, type: KnownType): boolean {
  return (
    k.type === type &&
    sameInode(k, st) &&
    k.mode === (st.mode & 0o7777) &&
    (type !== 'file' || (k.size === st.size && k.mtimeNs === Math.round(st.mtimeMs * 1e6)))
  );
}

/** ctimeProves for a RowStamp. */
export function rowCtimeProves(
  k: Pick<RowStamp, 'ctimeNs' | 'dev' | 'ino'>,
  st: Pick<Stats, 'ctimeMs' | 'dev' | 'ino'>,
): boolean {
  return k.ctimeNs !== 0 && sameInode(k, st) && Math.round(st.ctimeMs * 1e6) === k.ctimeNs;
}

/** The stored mtime as Node's milliseconds (what ops carry). */
export function mtimeMsOf(ns: bigint): number {
  return Number(ns) / 1e6;
}

/** Same file system object (device and inode). */
export function sameInode(k: Pick<Known, 'dev' | 'ino'>, st: Pick<Stats, 'dev' | 'ino'>): boolean {
  return k.dev === st.dev && k.ino === st.ino;
}

/** What knownIs compares (an index page row for a reconciliation has these and no more). */
export type KnownStat = Pick<Known, 'type' | 'dev' | 'ino' | 'size' | 'mtimeNs' | 'mode'>;

/** Same size and mtime: as far as stat can tell, the content queued is the content on disk. */
export function sameContentStamp(k: Pick<Known, 'size' | 'mtimeNs'>, st: Stamp): boolean {
  return k.size === st.size && k.mtimeNs === mtimeNsOf(st);
}

/** Everything capture compares is equal: inode, type, mode, and (files) size and mtime. */
export function knownIs(k: KnownStat, st: Stamp, type: KnownType): boolean {
  return (
    k.type === type &&
    sameInode(k, st) &&
    k.mode === (st.mode & 0o7777) &&
    (type !== 'file' || sameContentStamp(k, st))
  );
}

/**
 * The attribute stamp (`uid:gid:ns:x:a`, fsmeta's attrStampOf) kept in the entry: its owner in
 * uid/gid, the rest in attrDigest. mtimeNs stays the stat's (what content comparisons use), as
 * Node's Stats cannot give the exact ns the stamp holds.
 */
function stampFields(st: Pick<Stats, 'uid' | 'gid'>, stamp: string | undefined) {
  if (stamp === undefined) return { uid: st.uid, gid: st.gid, attrDigest: null };
  const [uid = '0', gid = '0', ...rest] = stamp.split(':');
  return { uid: Number(uid), gid: Number(gid), attrDigest: Buffer.from(rest.join(':'), 'utf8') };
}

/** The index entry recording `st` at `seq`, with the attribute stamp last sent and its ctime. */
export function entryOf(
  st: ScanStat,
  type: KnownType,
  seq: number,
  link?: string,
  stamp?: string,
  ctimeNs = 0n,
): IndexEntry {
  return {
    type,
    size: st.size,
    mtimeNs: mtimeNsOf(st),
    mode: st.mode,
    ...stampFields(st, stamp),
    dev: BigInt(st.dev),
    ino: BigInt(st.ino),
    rdev: 0n,
    link: link === undefined ? null : nameBytes(link), // a target's bytes, exactly
    sha256: null,
    seq,
    ctimeNs: stamp === undefined ? 0n : ctimeNs,
  };
}

/** What capture knows from an index entry (types it does not replicate never get one). */
export function knownOf(e: IndexEntry, unsure: boolean): Known {
  return {
    type: e.type as KnownType,
    dev: Number(e.dev),
    ino: Number(e.ino),
    size: e.size,
    mtimeNs: e.mtimeNs,
    mode: e.mode & 0o7777,
    link: e.link === null ? undefined : nameFromBytes(e.link),
    seq: e.seq,
    unsure,
    ctimeNs: e.ctimeNs,
    ...(e.attrDigest === null
      ? {}
      : { stamp: `${e.uid}:${e.gid}:${e.attrDigest.toString('utf8')}` }),
  };
}

type FileStamp = Pick<Stats, 'ino' | 'size' | 'mtimeMs'>;

/** Same inode, size and mtime: as far as stat can tell, nothing was written between the two. */
export function sameFile(a: FileStamp | null, b: FileStamp): boolean {
  return a !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Whether the index's state of a path is the disk's now (nothing to queue for it). */
export function knownMatchesDisk(k: Known | undefined, st: ScanStat | null): boolean {
  const type = st && entryType(st);
  return Boolean(k && st && type && knownIs(k, st, type));
}
