// Making an entry's xattrs and ACLs equal to the source's: set what differs, remove extras.
import { ACL_ACCESS, ACL_DEFAULT, defaultAclKey } from './acl.js';
import { attempt, type NotApplied } from './not-applied.js';
import { displayPath, type FsPath } from './paths.js';
import type { Acls, EntryType, Xattr } from './types.js';
import { readXattrs, removeXattr, setXattr, type XattrRead } from './xattr.js';

/**
 * Sets each wanted xattr whose value differs and removes each carried name the source lacks.
 * Names this process cannot see (trusted.* when not root) can be neither compared nor removed.
 * Returns the number of changes made; refusals are appended to `out`. `current` saves a read
 * when the caller already has the entry's xattrs.
 */
export function syncXattrsSync(
  p: FsPath,
  want: readonly Xattr[],
  out: NotApplied[],
  current: XattrRead = readXattrs(p),
): number {
  const have = new Map(current.xattrs.map((x) => [x.name.toString('hex'), x.value]));
  let changes = 0;
  for (const x of want) {
    const key = x.name.toString('hex');
    const current = have.get(key);
    have.delete(key);
    if (current?.equals(x.value)) continue;
    const what = `setting xattr ${displayPath(x.name)}`;
    if (attempt('xattrs', what, p, () => setXattr(p, x.name, x.value), out)) changes++;
  }
  for (const hex of have.keys()) {
    const name = Buffer.from(hex, 'hex');
    const what = `removing xattr ${displayPath(name)}`;
    if (attempt('xattrs', what, p, () => removeXattr(p, name), out)) changes++;
  }
  return changes;
}

/**
 * Sets or removes the access ACL and (directories only) the default ACL. Symlinks have no ACLs
 * on Linux. The caller sets the mode afterwards: setting an access ACL rewrites the group bits,
 * and the kernel may clear setgid while doing it.
 */
export function syncAclsSync(
  p: FsPath,
  type: EntryType,
  want: Acls,
  out: NotApplied[],
  current?: XattrRead,
): number {
  if (type === 'symlink') return 0;
  const have = (current ?? readXattrs(p)).acl;
  let changes = 0;
  const pairs: Array<[string, Buffer | undefined, Buffer | undefined]> = [
    [ACL_ACCESS, have.access, want.access],
  ];
  if (type === 'dir') pairs.push([ACL_DEFAULT, have.default, want.default]);
  for (const [name, current, wanted] of pairs) {
    if (sameAcl(current, wanted)) continue;
    const fn = wanted ? () => setXattr(p, name, wanted) : () => void removeXattr(p, name);
    const what = `${wanted ? 'setting' : 'removing'} ${name}`;
    if (attempt('acl', what, p, fn, out)) changes++;
  }
  return changes;
}

function sameAcl(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return defaultAclKey(a).equals(defaultAclKey(b));
}
