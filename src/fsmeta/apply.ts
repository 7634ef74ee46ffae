// Applying an entry's metadata in the one order that leaves every attribute as asked.
import { chmodSync, lchownSync, lstatSync } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { syncAclsSync, syncXattrsSync } from './apply-xattrs.js';
import { entryTypeOf } from './entry-type.js';
import { lutimensMtime } from './libc.js';
import { attempt, isRefusal, whoAmI, type NotApplied } from './not-applied.js';
import { displayPath, fsPath, type FsPath } from './paths.js';
import type { AttrOptions, FileMeta, MetaAttr } from './types.js';
import { readXattrs } from './xattr.js';

/** The attributes applyMetaSync sets (what the wire will carry for an entry). */
export type WantedMeta = Pick<
  FileMeta,
  'type' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'xattrs' | 'acl'
>;

/** What applyMetaSync did: attributes it changed, and each one it could not set, with why. */
export interface ApplyResult {
  changed: MetaAttr[];
  notApplied: NotApplied[];
}

/**
 * Sets owner, xattrs, ACLs, mode and mtime of an existing entry, in that order: chown clears
 * setuid/setgid and security.capability, so it goes first; an access ACL rewrites the group bits,
 * so chmod follows it; none of these touch the mtime, so it goes last (rsync: chown, xattrs,
 * times, ACLs, chmod). A directory's mtime must be applied after its entries settle: that is the
 * caller's ordering. Refusals (not root, no ACL support) are returned, never thrown or dropped.
 */
export function applyMetaSync(p: FsPath, want: WantedMeta, opts: AttrOptions = {}): ApplyResult {
  const st = lstatSync(fsPath(p), { bigint: true });
  const type = entryTypeOf(st.mode);
  if (type !== want.type) {
    throw new SmrError(
      'io',
      `cannot apply ${want.type} attributes to a ${type}: ${displayPath(p)}`,
    );
  }
  const res: ApplyResult = { changed: [], notApplied: [] };
  const mark = (attr: MetaAttr, n: number | boolean): void => {
    if (n && !res.changed.includes(attr)) res.changed.push(attr);
  };
  if (opts.owner !== false && (Number(st.uid) !== want.uid || Number(st.gid) !== want.gid)) {
    mark('owner', setOwnerSync(p, want.uid, want.gid, Number(st.gid), res.notApplied));
  }
  const needsWrite = ownerLacksWrite(Number(st.uid), Number(st.mode), type);
  if (needsWrite) chmodSync(fsPath(p), Number(st.mode & 0o7777n) | 0o200);
  // One read serves both: xattrs and ACLs are the same list to the kernel.
  const current = opts.xattrs !== false || opts.acls !== false ? readXattrs(p) : undefined;
  if (current && opts.xattrs !== false) {
    mark('xattrs', syncXattrsSync(p, want.xattrs, res.notApplied, current));
  }
  if (current && opts.acls !== false) {
    mark('acl', syncAclsSync(p, type, want.acl, res.notApplied, current));
  }
  if (type !== 'symlink') mark('mode', setModeSync(p, want.mode, res.notApplied));
  if (st.mtimeNs !== want.mtimeNs) {
    mark(
      'mtime',
      attempt('mtime', 'setting mtime', p, () => lutimensMtime(p, want.mtimeNs), res.notApplied),
    );
  }
  return res;
}

/**
 * lchown with numeric ids. When the system refuses (not root), the group alone is tried (a member
 * may give a file to one of its groups) and the refusal is returned. True when anything changed.
 */
export function setOwnerSync(
  p: FsPath,
  uid: number,
  gid: number,
  currentGid: number,
  out: NotApplied[],
): boolean {
  try {
    lchownSync(fsPath(p), uid, gid);
    return true;
  } catch (err) {
    if (!isRefusal(err)) throw err;
  }
  let groupSet = false;
  if (gid !== currentGid) {
    try {
      lchownSync(fsPath(p), -1, gid);
      groupSet = true;
    } catch (err) {
      if (!isRefusal(err)) throw err;
    }
  }
  const note = groupSet ? ` (group ${gid} was set)` : '';
  out.push({
    attr: 'owner',
    reason: `cannot give ${displayPath(p)} to ${uid}:${gid} ${whoAmI()}${note}`,
  });
  return groupSet;
}

/**
 * chmod (never on a symlink: Linux would follow it), then a check, because the kernel silently
 * drops setgid when the caller is not root and not in the file's group. True when it changed.
 */
export function setModeSync(p: FsPath, mode: number, out: NotApplied[]): boolean {
  const before = Number(lstatSync(fsPath(p)).mode & 0o7777);
  if (before === mode) return false;
  if (!attempt('mode', `chmod ${mode.toString(8)}`, p, () => chmodSync(fsPath(p), mode), out))
    return false;
  const after = Number(lstatSync(fsPath(p)).mode & 0o7777);
  if (after !== mode) {
    const reason = `chmod ${mode.toString(8)} on ${displayPath(p)} left ${after.toString(8)} (${whoAmI()})`;
    out.push({ attr: 'mode', reason });
  }
  return after !== before;
}

/** Sets an entry's mtime to the nanosecond (symlinks themselves included). */
export function setMtimeNsSync(p: FsPath, mtimeNs: bigint): void {
  lutimensMtime(p, mtimeNs);
}

// Not root, owner, and no write bit: Linux refuses even the owner a user.* xattr change on such
// an entry (they need write permission), so the bit is lent until the final chmod.
function ownerLacksWrite(uid: number, mode: number, type: string): boolean {
  const euid = process.geteuid?.();
  return euid !== 0 && euid === uid && (type === 'file' || type === 'dir') && (mode & 0o200) === 0;
}
