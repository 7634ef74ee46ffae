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
