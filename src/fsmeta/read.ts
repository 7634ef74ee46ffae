// Reading an entry's full metadata without following symlinks.
import { lstatSync, readlinkSync, type BigIntStats } from 'node:fs';
import { attrDigest } from './digest.js';
import { entryTypeOf, splitDev } from './entry-type.js';
import { fsPath, type FsPath } from './paths.js';
import type { AttrOptions, FileMeta } from './types.js';
import { readXattrs, type XattrRead } from './xattr.js';

const NONE: XattrRead = { xattrs: [], acl: {}, ignored: [] };

/**
 * Everything smr replicates about one entry (lstat with ns times, link target as bytes, xattrs,
 * ACLs, their digest). Synchronous like capture's lstat: each call is a few microseconds, below a
 * thread-pool round trip. `xattrs: false` / `acls: false` skip reading them (the --no-* options).
 */
export function readMetaSync(p: FsPath, opts: AttrOptions = {}): FileMeta {
  const st = lstatSync(fsPath(p), { bigint: true });
  return metaFromStat(p, st, opts);
}

/** readMetaSync for a stat the caller already has (the capture pipeline lstats first). */
export function metaFromStat(p: FsPath, st: BigIntStats, opts: AttrOptions = {}): FileMeta {
  const type = entryTypeOf(st.mode);
  const wantX = opts.xattrs !== false;
  const wantA = opts.acls !== false;
  const x = wantX || wantA ? readXattrs(p) : NONE;
  const xattrs = wantX ? x.xattrs : [];
  const acl = wantA ? x.acl : {};
  const meta: FileMeta = {
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs,
    size: Number(st.size),
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    xattrs,
    acl,
    ignoredXattrs: x.ignored,
    attrDigest: attrDigest(xattrs, acl),
  };
  if (type === 'char' || type === 'block') meta.rdev = splitDev(st.rdev);
  if (type === 'symlink') meta.linkTarget = readlinkSync(fsPath(p), { encoding: 'buffer' });
  return meta;
}

/**
 * The mtime in ms as a number, as Node's own (non-bigint) Stats computes it from seconds and
 * nanoseconds (sec * 1e3 + nsec / 1e6), so a time read with `bigint: true` compares exactly with
 * an lstat's (the target's listing, the source's attribute stamps).
 */
export function msOfNs(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    // Before 1970: the kernel's nanoseconds count up from a second below (floor, not truncation).
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
}
