// File type bits and device numbers, decoded the way glibc's major()/minor()/makedev() do.
import { constants as C } from 'node:fs';
import type { DeviceNumber, EntryType } from './types.js';

const TYPE_BITS: ReadonlyArray<[number, EntryType]> = [
  [C.S_IFREG, 'file'],
  [C.S_IFDIR, 'dir'],
  [C.S_IFLNK, 'symlink'],
  [C.S_IFIFO, 'fifo'],
  [C.S_IFSOCK, 'socket'],
  [C.S_IFCHR, 'char'],
  [C.S_IFBLK, 'block'],
];

/** The entry type of an lstat mode. */
export function entryTypeOf(mode: number | bigint): EntryType {
  const bits = Number(mode) & C.S_IFMT;
  const hit = TYPE_BITS.find(([b]) => b === bits);
  if (!hit) throw new Error(`unknown file type bits 0o${bits.toString(8)}`);
  return hit[1];
}

/** The S_IF* bits for an entry type (what mknod needs). */
export function typeBits(type: EntryType): number {
  const hit = TYPE_BITS.find(([, t]) => t === type);
  return (hit as [number, EntryType])[0];
}

/** Splits a dev_t (as Node's bigint lstat gives it) into major and minor. */
export function splitDev(rdev: bigint): DeviceNumber {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major & 0xffffffffn), minor: Number(minor & 0xffffffffn) };
}

/** Joins major and minor into a dev_t for mknod. */
export function makeDev(d: DeviceNumber): bigint {
  const ma = BigInt(d.major);
  const mi = BigInt(d.minor);
  return (
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn)
  );
}
