// The hot tail: the most recently written records, kept in memory so that a sender keeping up with
// capture gets them without re-reading and re-checksumming what was written microseconds earlier.
// It keeps each record's sealed head (header, kind, meta: the bytes written) and its data: a copy,
// so that a caller that reuses its buffers, or passed a small view of a big one, cannot change
// what readers see or how much memory is held — unless the caller handed the data over
// (JournalEntry.handOver) and it is not a small view of a much bigger buffer, then the buffer
// itself. Bounded by bytes, oldest dropped first; a reader that falls behind it simply reads from
// disk.
import type { EncodedEntry } from './record.js';
import type { Segment } from './segment.js';

/** Default bound on the hot tail: record bytes plus HOT_ENTRY_OVERHEAD_BYTES per record. */
export const HOT_TAIL_BYTES = 16 * 1024 * 1024;

/**
 * Counted per record on top of its bytes: the entry object, its Buffer view and the array slot
 * (~175 bytes measured in V8). Without it a tail of tiny records would hold several times its bound.
 */
export const HOT_ENTRY_OVERHEAD_BYTES = 200;

/**
 * Small records are copied back to back into chunks of this size: one allocation per chunk instead
 * of one per record (an ArrayBuffer per small record costs 2-4x the copy). Records are dropped
 * oldest first, so a chunk is freed with its last record, and only the oldest chunk (partly
 * dropped) and the newest (partly filled) hold bytes that are not counted, besides the end of each
 * chunk that the next record did not fit in (under 1/16 of it): the tail holds at most
 * 16/15 of its bound plus 2 chunks.
 */
const CHUNK_BYTES = 256 * 1024;
/**
 * A handed-over buffer may be this much bigger than twice its data and still be kept as it is
 * (Node's small buffers are views of shared 8 KiB pool slabs).
 */
const POOL_SLACK_BYTES = 8 * 1024;
/** Data bigger than this gets a buffer of its own (the allocation is cheap next to its copy). */
const CHUNK_RECORD_MAX = CHUNK_BYTES / 16;

/** One record held in memory, and where it starts on disk (so a reader can resume there). */
export interface HotRecord {
  readonly seq: number;
  /** The sealed header, kind and meta JSON, exactly as written. */
  readonly head: Buffer;
  /** The data as written (never modified), or null for a record without data. */
  readonly data: Buffer | null;
  /** Bytes on disk: head plus data. */
  readonly size: number;
  readonly seg: Segment;
  readonly offset: number;
}

/** The newest written records: a contiguous run of seqs, at most `limit` bytes counted. */
export class HotTail {
  // entries[head], entries[head + 1], ... hold consecutive seqs; the dead prefix is cut lazily.
  private entries: (HotRecord | undefined)[] = [];
  private head = 0;
  private counted = 0;
  private chunk: Buffer | null = null;
  private chunkUsed = 0;

  /** `limit` 0 turns the tail off: nothing is copied or kept. */
  constructor(readonly limit: number) {}

  /** Remembers a record right after it was written to the OS at `offset` in `seg`, never before. */
  add(seq: number, enc: EncodedEntry, seg: Segment, offset: number): void {
    const cost = enc.size + HOT_ENTRY_OVERHEAD_BYTES;
    // A gap would break the seq -> index arithmetic; it cannot happen (the writer numbers
    // contiguously and reset clears the tail), but keeping nothing is always safe.
    const newest = this.newest();
    if (newest && newest.seq + 1 !== seq) this.clear();
    if (cost > this.limit) {
      // Cannot be held; the older records would no longer be the newest run, so drop them too.
      this.clear();
      return;
    }
    const data = enc.data ? this.keep(enc.data, enc.handOver) : null;
    // The head is copied too: it is a slice of Node's shared 8 KiB pool, and kept as it is, each
    // small record pinned a whole slab (a 16 MiB tail held 40-60 MiB of ArrayBuffers, issue 18).
    const head = this.keep(enc.head);
    this.entries.push({ seq, head, data, size: enc.size, seg, offset });
    this.counted += cost;
    while (this.counted > this.limit && this.count > 0) this.dropOldest();
  }

  /** The record `seq` if it is still held. */
  get(seq: number): HotRecord | undefined {
    const first = this.entries[this.head];
    if (!first || seq < first.seq) return undefined;
    return this.entries[this.head + (seq - first.seq)];
  }

  /**
   * True when `seq` is held and not among the next to be dropped: a reader on disk switches to
   * memory only there. Switching at the eviction edge made a reader flip between the two on every
   * record (a segment reopened and sought each time), which halved a mirror's speed.
   */
  settled(seq: number): boolean {
    const first = this.entries[this.head];
    if (!first || seq < first.seq || seq >= first.seq + this.count) return false;
    return this.counted <= this.limit / 2 || seq - first.seq >= this.count / 4;
  }

  /** Drops records up to `seq` (acked: past that point readers must get what the disk says). */
  dropThrough(seq: number): void {
    for (let e = this.entries[this.head]; e && e.seq <= seq; e = this.entries[this.head]) {
      this.dropOldest();
    }
  }

  /** Drops everything (reset, close). */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.counted = 0;
    this.chunk = null;
    this.chunkUsed = 0;
  }

  /** Bytes counted against the limit (record bytes plus per-record overhead). */
  get size(): number {
    return this.counted;
  }

  /** How many records are held. */
  get count(): number {
    return this.entries.length - this.head;
  }

  private newest(): HotRecord | undefined {
    return this.count > 0 ? this.entries[this.entries.length - 1] : undefined;
  }

  /**
   * The record's data as kept: the caller's buffer when handed over and not a small view of a much
   * bigger one, else a copy in the current chunk (or a buffer of its own if it is big).
   */
  private keep(data: Buffer, handOver = false): Buffer {
    if (handOver && data.buffer.byteLength <= 2 * data.length + POOL_SLACK_BYTES) return data;
    let dest: Buffer;
    let start = 0;
    if (data.length > CHUNK_RECORD_MAX) {
      dest = Buffer.allocUnsafeSlow(data.length);
    } else {
      if (!this.chunk || this.chunkUsed + data.length > CHUNK_BYTES) {
        // allocUnsafeSlow: a chunk of our own, never a slice of Node's shared pool.
        this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
        this.chunkUsed = 0;
      }
      dest = this.chunk;
      start = this.chunkUsed;
      this.chunkUsed += data.length;
    }
    data.copy(dest, start);
    return dest.subarray(start, start + data.length);
  }

  private dropOldest(): void {
    const gone = this.entries[this.head];
    if (!gone) return;
    this.entries[this.head] = undefined; // its bytes can be collected now, not at the next cut
    this.head++;
    this.counted -= gone.size + HOT_ENTRY_OVERHEAD_BYTES;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      // Cut the dead prefix once it dominates: amortised O(1) per record, unlike Array.shift().
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
