// Chunk lists and the streaming pass that produces them: one read of a range yields its mid chunks
// (and, grouped, its coarse chunks) plus optionally the sha256 of the bytes read.
import type { FileHandle } from 'node:fs/promises';
import { CoarseGrouper, GearCutter, type CoarseChunk } from './chunker.js';
import { blockHash } from './hash.js';
import { IO_BUFFER_BYTES, MID_CHUNK_MAX } from './limits.js';
import type { ByteRange } from './ranges.js';
import { ReadAhead } from './reader.js';

/** Sees every byte a chunking pass reads, in order (a sha256, block hashes). */
export interface ByteSink {
  update(buf: Uint8Array): unknown;
}

/** Chunks of a file: chunk i covers [offsets[i], offsets[i] + lengths[i]) and hashes to hashes[i]. */
export interface ChunkList {
  offsets: Float64Array;
  lengths: Uint32Array;
  hashes: BigUint64Array;
}

/** Collects chunks into typed arrays that double as they fill (a few bytes per chunk). */
export class ChunkListBuilder {
  private offsets = new Float64Array(64);
  private lengths = new Uint32Array(64);
  private hashes = new BigUint64Array(64);
  count = 0;

  /** Appends one chunk. */
  push(offset: number, length: number, hash: bigint): void {
    if (this.count === this.offsets.length) this.grow();
    this.offsets[this.count] = offset;
    this.lengths[this.count] = length;
    this.hashes[this.count] = hash;
    this.count++;
  }

  /** The chunks pushed so far (views, no copy). */
  finish(): ChunkList {
    return {
      offsets: this.offsets.subarray(0, this.count),
      lengths: this.lengths.subarray(0, this.count),
      hashes: this.hashes.subarray(0, this.count),
    };
  }

  private grow(): void {
    const n = this.offsets.length * 2;
    const o = new Float64Array(n);
    const l = new Uint32Array(n);
    const h = new BigUint64Array(n);
    o.set(this.offsets);
    l.set(this.lengths);
    h.set(this.hashes);
    this.offsets = o;
    this.lengths = l;
    this.hashes = h;
  }
}

/** Receives the chunks of a pass: every mid chunk, and each coarse chunk as it closes. */
export interface ChunkSink {
  mid?(offset: number, length: number, hash: bigint): void;
  coarse?(chunk: CoarseChunk): void;
}

/**
 * Chunks `range` of an open file (to end of file when the file is shorter) through fixed buffers;
 * returns the number of bytes read. `hasher` sees every byte read, in order.
 */
export async function chunkRange(
  fh: FileHandle,
  range: ByteRange,
  sink: ChunkSink,
  hasher?: ByteSink,
): Promise<number> {
  // Small ranges (mid requests name many) get small buffers; whole files get IO_BUFFER_BYTES.
  const block = Math.min(IO_BUFFER_BYTES / 2, Math.max(MID_CHUNK_MAX, range.length));
  const reader = new ReadAhead(fh, range.offset, range.offset + range.length, block);
  try {
    return await chunkStream(reader, block, range.offset, sink, hasher);
  } finally {
    await reader.settle();
  }
}

// Cuts need a chunk's bytes contiguous: blocks from the reader are appended to a working buffer
// that always holds at least MID_CHUNK_MAX unconsumed bytes until the end.
async function chunkStream(
  reader: ReadAhead,
  block: number,
  offset: number,
  sink: ChunkSink,
  hasher?: ByteSink,
): Promise<number> {
  const buf = Buffer.allocUnsafeSlow(block + MID_CHUNK_MAX);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  const cutter = new GearCutter();
  const grouper = new CoarseGrouper(blockHash);
  let base = offset; // file offset of buf[0]
  let filled = 0;
  let cur = 0;
  for (;;) {
    if (!reader.done && filled - cur < MID_CHUNK_MAX) {
      buf.copyWithin(0, cur, filled);
      base += cur;
      filled -= cur;
      cur = 0;
      const data = await reader.read();
      buf.set(data, filled);
      filled += data.length;
    }
    if (cur >= filled) break;
    const end = cutter.cut(buf, u32, cur, filled);
    const chunk = buf.subarray(cur, end);
    const hash = blockHash(chunk);
    hasher?.update(chunk);
    sink.mid?.(base + cur, end - cur, hash);
    const closed = grouper.add(base + cur, end - cur, hash, cutter.natural, cutter.hash);
    if (closed) sink.coarse?.(closed);
    cur = end;
  }
  const last = grouper.flush();
  if (last) sink.coarse?.(last);
  return base + filled - offset;
}
