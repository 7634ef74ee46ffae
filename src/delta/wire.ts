// Wire encoding of signatures and range requests. Each is a payload split into parts of at most
// SIGNATURE_PART_BYTES, so every part fits one protocol frame; a part starts with
// kind u8, format version u8, part index u16 LE, part count u16 LE.
import { SmrError } from '../shared/errors.js';
import type { ChunkList } from './chunks.js';
import { ByteReader, ByteWriter } from './codec.js';
import {
  COARSE_CHUNK_MAX,
  MAX_BLOCK_SIZE,
  MAX_REQUEST_RANGES,
  MAX_SIGNATURE_PARTS,
  MID_CHUNK_MAX,
  MIN_BLOCK_SIZE,
  SIGNATURE_FORMAT_VERSION,
  SIGNATURE_PART_BYTES,
} from './limits.js';
import type { ByteRange } from './ranges.js';
import {
  fineBlockCount,
  type CoarseSignature,
  type FineSignature,
  type MidSignature,
} from './signature.js';

/** What a signature part carries. */
export const WireKind = { coarse: 1, mid: 2, fine: 3, ranges: 4 } as const;
type Kind = (typeof WireKind)[keyof typeof WireKind];
const PART_HEADER_BYTES = 6;
const MAX_SIGNATURE_PART = PART_HEADER_BYTES + SIGNATURE_PART_BYTES;
/** Largest coarse chunk a well-behaved chunker emits (a forced cut lands at the next mid cut). */
const MAX_COARSE_CHUNK = COARSE_CHUNK_MAX + MID_CHUNK_MAX;

/** Encodes a coarse signature (the mid-chunk cache stays local). */
export function encodeCoarse(sig: CoarseSignature): Buffer[] {
  const w = new ByteWriter();
  w.varint(sig.size);
  w.u8(sig.sha256 ? 1 : 0);
  if (sig.sha256) w.bytes(Buffer.from(sig.sha256, 'hex'));
  writeChunks(w, sig.chunks);
  return split(WireKind.coarse, w.finish());
}

/** Decodes and validates a coarse signature: chunks must tile [0, size). */
export function decodeCoarse(parts: Buffer | Buffer[]): CoarseSignature {
  const r = new ByteReader(join(WireKind.coarse, parts), 'coarse signature');
  const size = r.varint();
  const flags = r.u8();
  if (flags > 1) throw r.fail('unknown flags');
  const sha256 = flags === 1 ? r.bytes(32).toString('hex') : undefined;
  const chunks = readChunks(r, size > 0 ? [{ offset: 0, length: size }] : [], MAX_COARSE_CHUNK);
  r.end();
  return { size, sha256, chunks };
}

/** Encodes a mid signature. */
export function encodeMid(sig: MidSignature): Buffer[] {
  const w = new ByteWriter();
  writeRanges(w, sig.ranges);
  writeChunks(w, sig.chunks);
  return split(WireKind.mid, w.finish());
}

/** Decodes and validates a mid signature: chunks must tile its ranges in order. */
export function decodeMid(parts: Buffer | Buffer[]): MidSignature {
  const r = new ByteReader(join(WireKind.mid, parts), 'mid signature');
  const ranges = readRanges(r);
  const chunks = readChunks(r, ranges, MID_CHUNK_MAX);
  r.end();
  return { ranges, chunks };
}

/** Encodes a fine signature: 4-byte weak + 8-byte strong per block after the range list. */
export function encodeFine(sig: FineSignature): Buffer[] {
  const w = new ByteWriter();
  w.varint(sig.blockSize);
  writeRanges(w, sig.ranges);
  for (let k = 0; k < sig.weak.length; k++) {
    w.u32(sig.weak[k]!);
    w.u64(sig.strong[k]!);
  }
  return split(WireKind.fine, w.finish());
}

/** Decodes and validates a fine signature: the block count must follow from ranges and block size. */
export function decodeFine(parts: Buffer | Buffer[]): FineSignature {
  const r = new ByteReader(join(WireKind.fine, parts), 'fine signature');
  const blockSize = r.varint();
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE)
    throw r.fail('block size out of range');
  const ranges = readRanges(r);
  const n = fineBlockCount(ranges, blockSize);
  if (n * 12 !== r.remaining) throw r.fail('block count does not match its ranges');
  const weak = new Uint32Array(n);
  const strong = new BigUint64Array(n);
  for (let k = 0; k < n; k++) {
    weak[k] = r.u32();
    strong[k] = r.u64();
  }
  return { blockSize, ranges, weak, strong };
}

/** Encodes a request for the signatures of some target ranges. */
export function encodeRanges(ranges: readonly ByteRange[]): Buffer[] {
  const w = new ByteWriter();
  writeRanges(w, ranges);
  return split(WireKind.ranges, w.finish());
}

/** Decodes a range request (sorted, non-overlapping, non-empty, at most MAX_REQUEST_RANGES). */
export function decodeRanges(parts: Buffer | Buffer[]): ByteRange[] {
  const r = new ByteReader(join(WireKind.ranges, parts), 'range request');
  const ranges = readRanges(r);
  r.end();
  return ranges;
}

/** Total bytes of encoded parts (what they cost on the wire, before frame headers). */
export function wireBytes(parts: readonly Buffer[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

// Ranges as (gap from the previous range's end, length) pairs: sorted and disjoint by construction.
function writeRanges(w: ByteWriter, ranges: readonly ByteRange[]): void {
  w.varint(ranges.length);
  let end = 0;
  for (const r of ranges) {
    w.varint(r.offset - end);
    w.varint(r.length);
    end = r.offset + r.length;
  }
}

function readRanges(r: ByteReader): ByteRange[] {
  const n = r.varint();
  if (n > MAX_REQUEST_RANGES || n * 2 > r.remaining) throw r.fail('too many ranges');
  const out: ByteRange[] = [];
  let end = 0;
  for (let i = 0; i < n; i++) {
    const offset = end + r.varint();
    const length = r.varint();
    end = offset + length;
    if (length === 0 || !Number.isSafeInteger(end)) throw r.fail('empty or oversized range');
    out.push({ offset, length });
  }
  return out;
}

// Chunks as (length, hash) pairs; offsets follow from the ranges they tile.
function writeChunks(w: ByteWriter, chunks: ChunkList): void {
  w.varint(chunks.lengths.length);
  for (let i = 0; i < chunks.lengths.length; i++) {
    w.varint(chunks.lengths[i]!);
    w.u64(chunks.hashes[i]!);
  }
}

function readChunks(r: ByteReader, ranges: readonly ByteRange[], maxLen: number): ChunkList {
  const n = r.varint();
  if (n * 9 > r.remaining) throw r.fail('chunk count exceeds payload');
  const chunks: ChunkList = {
    offsets: new Float64Array(n),
    lengths: new Uint32Array(n),
    hashes: new BigUint64Array(n),
  };
  let ri = 0;
  let pos = ranges[0]?.offset ?? 0;
  for (let i = 0; i < n; i++) {
    const range = ranges[ri];
    const len = r.varint();
    if (!range || len === 0 || len > maxLen || pos + len > range.offset + range.length) {
      throw r.fail('chunks do not tile their ranges');
    }
    chunks.offsets[i] = pos;
    chunks.lengths[i] = len;
    chunks.hashes[i] = r.u64();
    pos += len;
    if (pos === range.offset + range.length) pos = ranges[++ri]?.offset ?? pos;
  }
  if (ri !== ranges.length) throw r.fail('chunks do not tile their ranges');
  return chunks;
}

function split(kind: Kind, payload: Buffer): Buffer[] {
  const count = Math.max(1, Math.ceil(payload.length / SIGNATURE_PART_BYTES));
  if (count > MAX_SIGNATURE_PARTS) {
    throw new SmrError(
      'frame-too-large',
      `signature needs ${count} parts (limit ${MAX_SIGNATURE_PARTS})`,
    );
  }
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = payload.subarray(i * SIGNATURE_PART_BYTES, (i + 1) * SIGNATURE_PART_BYTES);
    const part = Buffer.allocUnsafe(PART_HEADER_BYTES + body.length);
    part.writeUInt8(kind, 0);
    part.writeUInt8(SIGNATURE_FORMAT_VERSION, 1);
    part.writeUInt16LE(i, 2);
    part.writeUInt16LE(count, 4);
    body.copy(part, PART_HEADER_BYTES);
    parts.push(part);
  }
  return parts;
}

function join(kind: Kind, input: Buffer | Buffer[]): Buffer {
  const parts = Array.isArray(input) ? input : [input];
  if (parts.length === 0 || parts.length > MAX_SIGNATURE_PARTS) {
    throw new SmrError('protocol', `signature has ${parts.length} parts`);
  }
  parts.forEach((p, i) => {
    if (p.length < PART_HEADER_BYTES || p.readUInt8(0) !== kind) {
      throw new SmrError('protocol', `signature part ${i} is not of kind ${kind}`);
    }
    if (p.readUInt8(1) !== SIGNATURE_FORMAT_VERSION) {
      throw new SmrError(
        'version-mismatch',
        `signature format ${p.readUInt8(1)}, expected ${SIGNATURE_FORMAT_VERSION}`,
      );
    }
    if (
      p.readUInt16LE(2) !== i ||
      p.readUInt16LE(4) !== parts.length ||
      p.length > MAX_SIGNATURE_PART
    ) {
      throw new SmrError('protocol', `signature part ${i} out of order, missing or too large`);
    }
  });
  return Buffer.concat(parts.map((p) => p.subarray(PART_HEADER_BYTES)));
}
