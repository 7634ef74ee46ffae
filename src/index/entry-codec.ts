// Entries to and from SQLite rows. Integers come back as BigInt (the statements read with
// safeIntegers, so nanosecond times and 64-bit inodes are exact); device and inode numbers are
// unsigned 64-bit in the kernel and stored as SQLite's signed 64-bit integers.
import os from 'node:os';
import { SmrError } from '../shared/errors.js';
import type { BlockList, EntryType, IndexEntry } from './types.js';

const TYPES: readonly EntryType[] = ['file', 'dir', 'symlink', 'fifo', 'socket', 'char', 'block'];
const CODE = new Map(TYPES.map((t, i) => [t, i + 1]));
/** Entry types by their stored code minus one (stamp-rows.ts decodes with it too). */
export { TYPES as ENTRY_TYPES };

/** The columns an entry is read with, in the order `entryFromRow` expects. */
export const ENTRY_COLUMNS =
  'key, type, size, mtime_ns, mode, uid, gid, dev, ino, rdev, link, sha256, attr_digest, seq, ctime_ns';

/** How many columns `ENTRY_COLUMNS` names (the key included). */
export const ENTRY_COLUMN_COUNT = ENTRY_COLUMNS.split(', ').length;

/** Values bound for an entry, in the order of `ENTRY_COLUMNS` after the key. */
export function entryParams(e: IndexEntry): unknown[] {
  const type = CODE.get(e.type);
  if (type === undefined) throw new SmrError('usage', `index entry: unknown type ${e.type}`);
  if (e.sha256 !== null && e.sha256.length !== 32) {
    throw new SmrError('usage', `index entry: sha256 must be 32 bytes, got ${e.sha256.length}`);
  }
  return [
    type,
    e.size,
    e.mtimeNs,
    e.mode,
    e.uid,
    e.gid,
    BigInt.asIntN(64, e.dev),
    BigInt.asIntN(64, e.ino),
    BigInt.asIntN(64, e.rdev),
    e.link,
    e.sha256,
    e.attrDigest,
    e.seq,
    e.ctimeNs,
  ];
}

/** The entry of a raw row read with `ENTRY_COLUMNS` (the key at index 0 is not used here). */
export function entryFromRow(r: unknown[]): IndexEntry {
  return {
    type: TYPES[Number(r[1]) - 1] as EntryType,
    size: Number(r[2]),
    mtimeNs: r[3] as bigint,
    mode: Number(r[4]),
    uid: Number(r[5]),
    gid: Number(r[6]),
    dev: BigInt.asUintN(64, r[7] as bigint),
    ino: BigInt.asUintN(64, r[8] as bigint),
    rdev: BigInt.asUintN(64, r[9] as bigint),
    link: (r[10] as Buffer | null) ?? null,
    sha256: (r[11] as Buffer | null) ?? null,
    attrDigest: (r[12] as Buffer | null) ?? null,
    seq: Number(r[13]),
    ctimeNs: r[14] as bigint,
  };
}

const BIG_ENDIAN = os.endianness() === 'BE';

/** Block hashes as stored: little-endian u64s. */
export function hashesToBlob(hashes: BigUint64Array): Buffer {
  const b = Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  return BIG_ENDIAN ? Buffer.from(b).swap64() : b;
}

/** A stored block list (a fresh, aligned copy the caller owns). */
export function blocksFromRow(blockSize: bigint, size: bigint, blob: Buffer): BlockList {
  const hashes = new BigUint64Array(Math.floor(blob.length / 8));
  const bytes = Buffer.from(hashes.buffer);
  blob.copy(bytes, 0, 0, bytes.length);
  if (BIG_ENDIAN) bytes.swap64();
  return { blockSize: Number(blockSize), size: Number(size), hashes };
}
