// An entry's attributes beyond mode and ms mtime (owner, ns mtime, xattrs, ACLs) as one op or one
// listing entry carries them (docs/PROTOCOL.md, "Attributes"). Bytes travel as base64.
import { int, isObject, list, obj, refuse, type Check } from './check.js';

/** Xattrs one entry may carry (ext4 keeps them all in one 4 KiB block; xfs allows more). */
export const MAX_XATTRS = 1024;
/** Linux's XATTR_NAME_MAX and XATTR_SIZE_MAX. */
const MAX_XATTR_NAME = 255;
const MAX_XATTR_VALUE = 64 * 1024;

/**
 * Attributes on the wire. A field absent is left alone by the target (the source does not carry
 * it: `--no-owner`, `--no-xattrs`, `--no-acls`); `x` present means exactly this set of xattrs
 * (extras are removed), `acl` present means exactly these ACLs (an absent one is removed).
 */
export interface WireAttrs {
  /** Numeric owner and group (both or neither). */
  uid?: number;
  gid?: number;
  /** mtime in ns since the epoch, as decimal digits (a double cannot hold it). */
  ns?: string;
  /** [name, value] pairs, base64, in name-byte order. */
  x?: Array<[string, string]>;
  /** The raw system.posix_acl_access (a) and _default (d) values, base64. */
  acl?: { a?: string; d?: string };
}

/** Base64 (standard alphabet, padded) of at most `maxBytes` decoded bytes. */
function b64(maxBytes: number): Check<string> {
  const maxChars = Math.ceil(maxBytes / 3) * 4;
  return (v, where) =>
    typeof v === 'string' &&
    v.length <= maxChars &&
    v.length % 4 === 0 &&
    /^[A-Za-z0-9+/]*={0,2}$/.test(v)
      ? v
      : refuse(where, `base64 of ≤ ${maxBytes} bytes`, v);
}

const nsTime: Check<string> = (v, where) =>
  typeof v === 'string' && /^-?\d{1,22}$/.test(v) ? v : refuse(where, 'a time in ns (digits)', v);

const xattrPair: Check<[string, string]> = (v, where) => {
  if (!Array.isArray(v) || v.length !== 2) return refuse(where, 'a [name, value] pair', v);
  const name = b64(MAX_XATTR_NAME)(v[0], `${where}[0]`);
  if (name.length === 0) return refuse(`${where}[0]`, 'a non-empty name', v[0]);
  return [name, b64(MAX_XATTR_VALUE)(v[1], `${where}[1]`)];
};

const aclPair = obj({}, { a: b64(MAX_XATTR_VALUE), d: b64(MAX_XATTR_VALUE) });

// Built once: a check made per value checked was a closure, an object and a list of its fields
// per file of every `files` op the target applies.
const attrsShape = obj(
  {},
  {
    uid: int(0, 0xffffffff),
    gid: int(0, 0xffffffff),
    ns: nsTime,
    x: list(xattrPair, MAX_XATTRS),
    acl: aclPair,
  },
);

/** Checks the attributes an op or listing entry carries. */
export const wireAttrs: Check<WireAttrs> = (v, where) => {
  if (!isObject(v)) return refuse(where, 'an object', v);
  const a = attrsShape(v, where) as WireAttrs;
  if ((a.uid === undefined) !== (a.gid === undefined))
    return refuse(where, 'uid and gid together', v);
  return a;
};

/**
 * A fingerprint of an entry's attributes, as listings carry and capture's known state keeps it:
 * `uid:gid:ns:x:a` (x, a: 128-bit digests of the xattrs and of the ACLs, '' when none).
 */
export type AttrStamp = string;

/** Checks a listing's attribute stamp (its parts are compared, never acted on). */
export const attrStamp: Check<AttrStamp> = (v, where) =>
  typeof v === 'string' && /^\d{1,10}:\d{1,10}:-?\d{1,22}:[0-9a-f]{0,32}:[0-9a-f]{0,32}$/.test(v)
    ? v
    : refuse(where, 'uid:gid:ns:x:a', v);

/** The attributes a stamp tells apart, named as verify reports them. */
export type StampAttr = 'owner' | 'mtime' | 'xattrs' | 'acl';

/** The attributes whose parts differ between two stamps. */
export function stampDiff(a: AttrStamp, b: AttrStamp): StampAttr[] {
  const [pa, pb] = [a.split(':'), b.split(':')];
  const out: StampAttr[] = [];
  if (pa[0] !== pb[0] || pa[1] !== pb[1]) out.push('owner');
  if (pa[2] !== pb[2]) out.push('mtime');
  if (pa[3] !== pb[3]) out.push('xattrs');
  if (pa[4] !== pb[4]) out.push('acl');
  return out;
}
