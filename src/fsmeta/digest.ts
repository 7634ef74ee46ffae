// A short, stable fingerprint of an entry's xattrs and ACLs, so an index can notice an
// attribute-only change by storing 32 hex characters instead of every value.
import { createHash } from 'node:crypto';
import { accessAclKey, defaultAclKey } from './acl.js';
import type { Acls, Xattr } from './types.js';

/**
 * sha256 (first 128 bits, hex) over length-prefixed names and values in name order, then both
 * ACLs in canonical form without their mode-mirrored entries (a chmod is a mode change, not an
 * attribute change). '' when the entry has neither xattrs nor ACLs, the common case, which then
 * costs no hashing at all.
 */
export function attrDigest(xattrs: readonly Xattr[], acl: Acls): string {
  if (xattrs.length === 0 && acl.access === undefined && acl.default === undefined) return '';
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  const field = (b: Buffer): void => {
    len.writeUInt32BE(b.length, 0);
    h.update(len);
    h.update(b);
  };
  const sorted = [...xattrs].sort((a, b) => Buffer.compare(a.name, b.name));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(sorted.length, 0);
  field(count);
  for (const x of sorted) {
    field(x.name);
    field(x.value);
  }
  field(accessAclKey(acl.access));
  field(defaultAclKey(acl.default));
  return h.digest('hex').slice(0, 32);
}

/**
 * An entry's attributes other than mode and type in one string, `uid:gid:mtimeNs:x:a` (x, a: the
 * attrDigest of its xattrs alone and of its ACLs alone), so two ends (a listing and capture's
 * known state) can tell an attribute-only change apart, and verify can say which attribute.
 */
export function attrStampOf(m: {
  uid: number;
  gid: number;
  mtimeNs: bigint;
  xattrs: readonly Xattr[];
  acl: Acls;
}): string {
  return `${m.uid}:${m.gid}:${m.mtimeNs}:${attrDigest(m.xattrs, {})}:${attrDigest([], m.acl)}`;
}

/**
 * attrStampOf of an entry with neither xattrs nor ACLs, its ns mtime already a decimal text (the
 * replica listing's workers read it as seconds and nanoseconds: no BigInt per entry).
 */
export function plainAttrStamp(uid: number, gid: number, mtimeNsText: string): string {
  return `${uid}:${gid}:${mtimeNsText}::`;
}
