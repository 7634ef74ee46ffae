// The metadata comparator verify uses: which attributes of two entries differ, content aside.
import { accessAclKey, defaultAclKey } from './acl.js';
import type { AttrOptions, FileMeta, MetaAttr, Xattr } from './types.js';

/** The fields metaDiff looks at (a FileMeta has them all). */
export type ComparableMeta = Pick<
  FileMeta,
  'type' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'xattrs' | 'acl' | 'rdev' | 'linkTarget'
>;

/**
 * The attributes of `b` that differ from `a`, named as verify prints them. A different type (or a
 * device with another major/minor) is reported alone: nothing else is comparable then. A symlink's
 * mode is not compared (Linux fixes it at 0777); its mtime is. An access ACL is compared without
 * the entries the mode already carries, so one chmod is one difference. `owner`, `xattrs`, `acls`
 * false leave those out (the --no-* options).
 */
export function metaDiff(a: ComparableMeta, b: ComparableMeta, opts: AttrOptions = {}): MetaAttr[] {
  if (a.type !== b.type || !sameDevice(a, b)) return ['type'];
  const out: MetaAttr[] = [];
  if (a.type !== 'symlink' && a.mode !== b.mode) out.push('mode');
  if (opts.owner !== false && (a.uid !== b.uid || a.gid !== b.gid)) out.push('owner');
  if (a.mtimeNs !== b.mtimeNs) out.push('mtime');
  if (opts.xattrs !== false && !sameXattrs(a.xattrs, b.xattrs)) out.push('xattrs');
  if (opts.acls !== false && !sameAcls(a, b)) out.push('acl');
  if (a.type === 'symlink' && !sameBytes(a.linkTarget, b.linkTarget)) out.push('link target');
  return out;
}

function sameDevice(a: ComparableMeta, b: ComparableMeta): boolean {
  return a.rdev?.major === b.rdev?.major && a.rdev?.minor === b.rdev?.minor;
}

function sameXattrs(a: readonly Xattr[], b: readonly Xattr[]): boolean {
  if (a.length !== b.length) return false;
  const sort = (l: readonly Xattr[]): Xattr[] =>
    [...l].sort((x, y) => Buffer.compare(x.name, y.name));
  const [sa, sb] = [sort(a), sort(b)];
  return sa.every((x, i) => x.name.equals(sb[i]!.name) && x.value.equals(sb[i]!.value));
}

function sameAcls(a: ComparableMeta, b: ComparableMeta): boolean {
  return (
    accessAclKey(a.acl.access).equals(accessAclKey(b.acl.access)) &&
    defaultAclKey(a.acl.default).equals(defaultAclKey(b.acl.default))
  );
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
