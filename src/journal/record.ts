// The on-disk record: one self-describing, checksummed, length-prefixed frame per entry.
// Layout (little-endian), see docs/JOURNAL.md:
//   0 len u32 | 4 crc32 u32 | 8 seq u64 | 16 version u8 | 17 flags u8 | 18 kindLen u16
//   20 metaLen u32 | 24 dataLen u32 | 28 kind | meta (JSON) | data
// The crc covers everything after itself, so a torn or bit-flipped record is recognised as such.
import { crc32 } from 'node:zlib';
import { SmrError } from '../shared/errors.js';
import type { JournalEntry, JournalRecord } from './types.js';

/** Fixed header size in bytes; the variable parts follow it. */
export const RECORD_HEADER_BYTES = 28;
/** Format version written into every record; anything else is refused as corrupt. */
export const RECORD_VERSION = 1;
/** Longest kind, in UTF-8 bytes: kinds are short tags, not payload. */
export const MAX_KIND_BYTES = 256;
/** Largest meta JSON, in UTF-8 bytes. */
export const MAX_META_BYTES = 64 * 1024;
/** Largest data payload: callers split bigger file contents into several records. */
export const MAX_DATA_BYTES = 8 * 1024 * 1024;
/** Largest possible encoded record; also the sanity bound for a length read back from disk. */
export const MAX_RECORD_BYTES =
  RECORD_HEADER_BYTES + MAX_KIND_BYTES + MAX_META_BYTES + MAX_DATA_BYTES;

const FLAG_HAS_DATA = 1;
const TWO_32 = 2 ** 32;

/** An entry encoded except for its seq and crc, which are only known when it is written. */
export interface EncodedEntry {
  /** Header plus kind plus meta; the data buffer is written after it without being copied. */
  head: Buffer;
  data: Buffer | undefined;
  size: number;
  /** See JournalEntry.handOver. */
  handOver: boolean;
}

/** The fixed fields of a record, readable before the rest of it is in memory. */
export interface RecordHeader {
  len: number;
  crc: number;
  seq: number;
  version: number;
  flags: number;
  kindLen: number;
  metaLen: number;
  dataLen: number;
}

/** Encodes an entry, refusing (SmrError 'usage') anything over the named limits. */
export function encodeEntry(entry: JournalEntry): EncodedEntry {
  const { kind, meta, data } = entry;
  if (typeof kind !== 'string' || kind.length === 0) usage('kind must be a non-empty string');
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
    usage('meta must be an object');
  if (data !== undefined && !Buffer.isBuffer(data)) usage('data must be a Buffer');
  const metaJson = stringifyMeta(meta);
  const kindLen = Buffer.byteLength(kind, 'utf8');
  const metaLen = Buffer.byteLength(metaJson, 'utf8');
  const dataLen = data?.length ?? 0;
  if (kindLen > MAX_KIND_BYTES) usage(`kind is ${kindLen} bytes, limit ${MAX_KIND_BYTES}`);
  if (metaLen > MAX_META_BYTES) usage(`meta is ${metaLen} bytes, limit ${MAX_META_BYTES}`);
  if (dataLen > MAX_DATA_BYTES) usage(`data is ${dataLen} bytes, limit ${MAX_DATA_BYTES}`);
  const head = Buffer.allocUnsafe(RECORD_HEADER_BYTES + kindLen + metaLen);
  const size = head.length + dataLen;
  head.writeUInt32LE(size, 0);
  head.writeUInt32LE(0, 4);
  writeSeq(head, 0);
  head.writeUInt8(RECORD_VERSION, 16);
  head.writeUInt8(data ? FLAG_HAS_DATA : 0, 17);
  head.writeUInt16LE(kindLen, 18);
  head.writeUInt32LE(metaLen, 20);
  head.writeUInt32LE(dataLen, 24);
  head.write(kind, RECORD_HEADER_BYTES, 'utf8');
  head.write(metaJson, RECORD_HEADER_BYTES + kindLen, 'utf8');
  return { head, data, size, handOver: entry.handOver === true };
}

/** Stamps the seq and the checksum; called by the writer right before the bytes go out. */
export function sealRecord(enc: EncodedEntry, seq: number): void {
  writeSeq(enc.head, seq);
  let crc = crc32(enc.head.subarray(8));
  if (enc.data) crc = crc32(enc.data, crc);
  enc.head.writeUInt32LE(crc, 4);
}

/** Reads the fixed header at the start of `buf` (which must hold RECORD_HEADER_BYTES). */
export function readHeader(buf: Buffer): RecordHeader {
  return {
    len: buf.readUInt32LE(0),
    crc: buf.readUInt32LE(4),
    seq: buf.readUInt32LE(8) + buf.readUInt32LE(12) * TWO_32,
    version: buf.readUInt8(16),
    flags: buf.readUInt8(17),
    kindLen: buf.readUInt16LE(18),
    metaLen: buf.readUInt32LE(20),
    dataLen: buf.readUInt32LE(24),
  };
}

/** Why a length prefix cannot start a record, or null if it is plausible. */
export function checkLength(len: number): string | null {
  if (len < RECORD_HEADER_BYTES || len > MAX_RECORD_BYTES)
    return `implausible record length ${len}`;
  return null;
}

/** Why the whole record in `buf` (exactly len bytes) is invalid, or null if it checks out. */
export function checkRecord(buf: Buffer): string | null {
  const h = readHeader(buf);
  if (h.len !== buf.length) return 'length mismatch';
  if (crc32(buf.subarray(8)) !== h.crc) return 'checksum mismatch';
  if (h.version !== RECORD_VERSION) return `unknown record version ${h.version}`;
  if (!Number.isSafeInteger(h.seq) || h.seq < 1) return `invalid seq ${h.seq}`;
  if (RECORD_HEADER_BYTES + h.kindLen + h.metaLen + h.dataLen !== h.len)
    return 'inconsistent field lengths';
  if (h.dataLen > 0 && !(h.flags & FLAG_HAS_DATA)) return 'data present without flag';
  return null;
}

/** Decodes a verified record (see checkRecord); its data is copied out of `buf` unless `copy` is false. */
export function decodeRecord(buf: Buffer, copy = true): JournalRecord {
  const h = readHeader(buf);
  const kindEnd = RECORD_HEADER_BYTES + h.kindLen;
  const metaEnd = kindEnd + h.metaLen;
  const kind = buf.toString('utf8', RECORD_HEADER_BYTES, kindEnd);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(buf.toString('utf8', kindEnd, metaEnd)) as Record<string, unknown>;
  } catch (err) {
    throw new SmrError('journal-corrupt', `journal record ${h.seq}: meta is not JSON`, undefined, {
      cause: err,
    });
  }
  const rec: JournalRecord = { seq: h.seq, size: h.len, kind, meta };
  if (h.flags & FLAG_HAS_DATA) {
    const data = buf.subarray(metaEnd, metaEnd + h.dataLen);
    rec.data = copy ? Buffer.from(data) : data;
  }
  return rec;
}

/**
 * Decodes a record held as its head (header, kind, meta: as sealed) and its data, without copying
 * the data (the hot tail's records; see HotTail).
 */
export function decodeParts(head: Buffer, data: Buffer | null): JournalRecord {
  const rec = decodeRecord(head, false);
  if (data) rec.data = data;
  return rec;
}

function writeSeq(buf: Buffer, seq: number): void {
  buf.writeUInt32LE(seq % TWO_32, 8);
  buf.writeUInt32LE(Math.floor(seq / TWO_32), 12);
}

function stringifyMeta(meta: Record<string, unknown>): string {
  try {
    return JSON.stringify(meta);
  } catch (err) {
    throw new SmrError('usage', `journal entry meta is not JSON-serialisable: ${String(err)}`);
  }
}

function usage(message: string): never {
  throw new SmrError('usage', `journal entry refused: ${message}`);
}
