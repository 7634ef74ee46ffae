// POSIX ACLs in the kernel's own xattr form. smr carries these values raw (both ends are Linux and
// ids are numeric, so the kernel's bytes are already the exact, lossless form); it parses them only
// to validate, to compare without the entries that merely mirror the mode, and to print them.
import { SmrError } from '../shared/errors.js';

/** The xattr names Linux exposes POSIX ACLs under. */
export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';

/** ACL entry tags (linux/posix_acl.h). */
export const TAG = {
  USER_OBJ: 0x01,
  USER: 0x02,
  GROUP_OBJ: 0x04,
  GROUP: 0x08,
  MASK: 0x10,
  OTHER: 0x20,
} as const;

/** One ACL entry; `id` is a uid or gid for USER/GROUP entries, undefined otherwise. */
export interface AclEntry {
  tag: number;
  perm: number;
  id?: number;
}

const VERSION = 2;
const HEADER = 4;
const ENTRY = 8;
const UNDEFINED_ID = 0xffffffff;
const TAG_ORDER = [
  TAG.USER_OBJ,
  TAG.USER,
  TAG.GROUP_OBJ,
  TAG.GROUP,
  TAG.MASK,
  TAG.OTHER,
] as number[];

/** Parses a `system.posix_acl_*` value; throws on anything the kernel would not have produced. */
export function parseAcl(value: Buffer): AclEntry[] {
  if (
    value.length < HEADER ||
    (value.length - HEADER) % ENTRY !== 0 ||
    value.readUInt32LE(0) !== VERSION
  ) {
    throw new SmrError('io', `malformed POSIX ACL value (${value.length} bytes)`);
  }
  const entries: AclEntry[] = [];
  for (let at = HEADER; at < value.length; at += ENTRY) {
    const tag = value.readUInt16LE(at);
    if (!TAG_ORDER.includes(tag))
      throw new SmrError('io', `malformed POSIX ACL value (tag 0x${tag.toString(16)})`);
    const perm = value.readUInt16LE(at + 2);
    const id = value.readUInt32LE(at + 4);
    entries.push(tag === TAG.USER || tag === TAG.GROUP ? { tag, perm, id } : { tag, perm });
  }
  return entries;
}

/** Encodes entries in the kernel's canonical order (by tag, then id). */
export function encodeAcl(entries: readonly AclEntry[]): Buffer {
  const sorted = [...entries].sort(compareEntries);
  const out = Buffer.alloc(HEADER + ENTRY * sorted.length);
  out.writeUInt32LE(VERSION, 0);
  sorted.forEach((e, i) => {
    const at = HEADER + ENTRY * i;
    out.writeUInt16LE(e.tag, at);
    out.writeUInt16LE(e.perm, at + 2);
    out.writeUInt32LE(e.id ?? UNDEFINED_ID, at + 4);
  });
  return out;
}

/**
 * The part of an access ACL the mode does not already say: USER_OBJ, OTHER and the MASK (or
 * GROUP_OBJ when there is no mask) are the mode's rwx triplets, so comparing them again would
 * report one chmod as two differences (rsync strips the same entries and sends them as the mode).
 */
export function aclBeyondMode(value: Buffer): AclEntry[] {
  const entries = parseAcl(value);
  const hasMask = entries.some((e) => e.tag === TAG.MASK);
  const mirrored = new Set<number>([TAG.USER_OBJ, TAG.OTHER, hasMask ? TAG.MASK : TAG.GROUP_OBJ]);
  return entries.filter((e) => !mirrored.has(e.tag)).sort(compareEntries);
}

/** Canonical bytes for comparing or digesting an access ACL (mode-mirrored entries left out). */
export function accessAclKey(value: Buffer | undefined): Buffer {
  return value === undefined ? Buffer.alloc(0) : encodeAcl(aclBeyondMode(value));
}

/** Canonical bytes for comparing or digesting a default ACL (every entry counts). */
export function defaultAclKey(value: Buffer | undefined): Buffer {
  return value === undefined ? Buffer.alloc(0) : encodeAcl(parseAcl(value));
}

/** getfacl's numeric text form (`user:1000:rw-`), one entry a line, optionally prefixed `default:`. */
export function aclToText(value: Buffer, prefix = ''): string[] {
  const names: Record<number, string> = {
    1: 'user',
    2: 'user',
    4: 'group',
    8: 'group',
    16: 'mask',
    32: 'other',
  };
  return parseAcl(value)
    .sort(compareEntries)
    .map((e) => `${prefix}${names[e.tag]}:${e.id ?? ''}:${permText(e.perm)}`);
}

function permText(p: number): string {
  return `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`;
}

function compareEntries(a: AclEntry, b: AclEntry): number {
  return TAG_ORDER.indexOf(a.tag) - TAG_ORDER.indexOf(b.tag) || (a.id ?? 0) - (b.id ?? 0);
}
