// Extended attributes of an entry itself (never a symlink's target), names and values as bytes.
import { ACL_ACCESS, ACL_DEFAULT } from './acl.js';
import { flistxattrSize, lgetxattr, llistxattr, lremovexattr, lsetxattr } from './libc.js';
import { pathBytes, type FsPath } from './paths.js';
import type { Acls, Xattr } from './types.js';

/** What an entry carries in xattr form, split as smr replicates it. */
export interface XattrRead {
  /** user., trusted. and security. names, sorted by name bytes. */
  xattrs: Xattr[];
  acl: Acls;
  /** other system.* names: not replicated, reported so the caller can log them. */
  ignored: Buffer[];
}

/** Namespaces smr replicates (rsync -X as root: all but system.*, whose ACLs -A handles). */
const CARRIED = ['user.', 'trusted.', 'security.'].map((s) => Buffer.from(s));
const ACCESS = Buffer.from(ACL_ACCESS);
const DEFAULT = Buffer.from(ACL_DEFAULT);

/** True for names smr carries as xattrs (not ACLs, not other system.* names). */
export function isCarriedXattr(name: Buffer): boolean {
  return CARRIED.some((prefix) => name.subarray(0, prefix.length).equals(prefix));
}

/** The entry's xattr names; none on a filesystem without xattr support. */
export function listXattrNames(p: FsPath): Buffer[] {
  let list: Buffer;
  try {
    list = llistxattr(p);
  } catch (err) {
    if (isUnsupported(err)) return [];
    throw err;
  }
  const names: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) names.push(list.subarray(start, i));
    start = i + 1;
  }
  return names;
}

/** Whether an open file has any xattr name at all (ACLs included); false without xattr support. */
export function hasXattrsFd(fd: number): boolean {
  try {
    return flistxattrSize(fd) > 0;
  } catch (err) {
    if (isUnsupported(err)) return false;
    throw err;
  }
}

/** One xattr value, or undefined when the entry has no such name. */
export function getXattr(p: FsPath, name: FsPath): Buffer | undefined {
  try {
    return lgetxattr(p, pathBytes(name));
  } catch (err) {
    if (codeOf(err) === 'ENODATA') return undefined;
    throw err;
  }
}

/** Sets one xattr (creating or replacing it). */
export function setXattr(p: FsPath, name: FsPath, value: Buffer): void {
  lsetxattr(p, pathBytes(name), value);
}

/** Removes one xattr; false when it was not there. */
export function removeXattr(p: FsPath, name: FsPath): boolean {
  try {
    lremovexattr(p, pathBytes(name));
    return true;
  } catch (err) {
    if (codeOf(err) === 'ENODATA') return false;
    throw err;
  }
}

/** Reads every xattr and both ACLs of the entry itself. */
export function readXattrs(p: FsPath): XattrRead {
  const out: XattrRead = { xattrs: [], acl: {}, ignored: [] };
  for (const name of listXattrNames(p)) {
    const carried = isCarriedXattr(name);
    const isAccess = name.equals(ACCESS);
    const isDefault = name.equals(DEFAULT);
    if (!carried && !isAccess && !isDefault) {
      out.ignored.push(name);
      continue;
    }
    // Gone between list and get: the entry changed under us, and its next check sees the rest.
    const value = getXattr(p, name);
    if (value === undefined) continue;
    if (isAccess) out.acl.access = value;
    else if (isDefault) out.acl.default = value;
    else out.xattrs.push({ name, value });
  }
  out.xattrs.sort((a, b) => Buffer.compare(a.name, b.name));
  return out;
}

/** errno code of a thrown fs-style error. */
export function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The filesystem (or entry type) does not do xattrs at all. */
export function isUnsupported(err: unknown): boolean {
  const c = codeOf(err);
  return c === 'ENOTSUP' || c === 'EOPNOTSUPP';
}
