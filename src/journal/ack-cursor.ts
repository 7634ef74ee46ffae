// Tracks where the first un-acknowledged record starts on disk, so stats().bytes stays exact and
// ack can trim whole segments, without keeping a per-record index in memory: on each ack the
// cursor walks forward over record headers only (a few bytes each), never re-reading payloads.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { corrupt } from './recovery.js';
import { RecordScanner } from './scanner.js';
import type { Segment, SegmentCatalog } from './segment.js';

const CURSOR_BUFFER_BYTES = 64 * 1024;

/** A position in the journal: record `seq` starts at `offset` in `seg` (null: no segment yet). */
export interface JournalPosition {
  seg: Segment | null;
  seq: number;
  offset: number;
}

/** The position of record ackedSeq+1, moved forward by ack. */
export class AckCursor {
  private fh: FileHandle | null = null;
  private scanner: RecordScanner | null = null;

  constructor(
    private readonly catalog: SegmentCatalog,
    private pos: JournalPosition,
  ) {}

  /** A place a reader may start scanning from to find `seq` sooner, if the cursor is one. */
  hint(seq: number): JournalPosition | null {
    const { seg } = this.pos;
    if (!seg || this.pos.seq > seq || this.catalog.locate(seq) !== seg) return null;
    return { ...this.pos };
  }

  /** The segment holding the first un-acked record: every segment before it is fully acked. */
  get segment(): Segment | null {
    return this.pos.seg;
  }

  /** Bytes from the first un-acked record to the end of the journal. */
  unackedBytes(): number {
    const total = this.catalog.totalBytes;
    if (!this.pos.seg) return total;
    const before = this.catalog.bytesBefore(this.pos.seg);
    // Not listed any more only between a reset's clear and the cursor's restart: all is un-acked.
    return before === null ? total : total - before - this.pos.offset;
  }

  /**
   * Moves to record `acked + 1` (which may not exist yet when everything is acked); `next`, when
   * the caller knows where that record starts, saves walking there.
   */
  async advance(acked: number, next?: JournalPosition): Promise<void> {
    const want = acked + 1;
    if (next?.seg && next.seq === want && this.catalog.indexOf(next.seg) >= 0) {
      await this.release(); // the scanner's place is no longer ours
      this.pos = { ...next };
      return this.stepOverEnd(next.seg);
    }
    const seg = this.catalog.locate(want);
    if (!seg) return this.restart(want);
    if (seg !== this.pos.seg || this.pos.seq > want) {
      await this.release();
      this.pos = { seg, seq: seg.firstSeq, offset: 0 };
    }
    if (this.pos.seq < want) await this.walk(seg, want);
    if (this.pos.seq < want) {
      throw corrupt(
        this.catalog.dir,
        seg.firstSeq,
        this.pos.offset,
        `record ${this.pos.seq} missing`,
      );
    }
    await this.stepOverEnd(seg);
  }

  /** Forgets the position (reset): the next segment created starts with record `nextSeq`. */
  async restart(nextSeq: number): Promise<void> {
    await this.release();
    this.pos = { seg: null, seq: nextSeq, offset: 0 };
  }

  /** Closes the file handle the cursor reads headers through. */
  async release(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    this.scanner = null;
    await fh?.close();
  }

  private async walk(seg: Segment, want: number): Promise<void> {
    if (!this.scanner) {
      this.fh = await fsp.open(seg.file, 'r');
      this.scanner = new RecordScanner(this.fh, this.pos.offset, CURSOR_BUFFER_BYTES);
    }
    const scanner = this.scanner;
    while (this.pos.seq < want) {
      const peek = await scanner.peek(seg.size);
      if (peek.type === 'end') return;
      if (peek.type === 'bad')
        throw corrupt(this.catalog.dir, seg.firstSeq, peek.offset, peek.reason);
      if (peek.header.seq !== this.pos.seq) {
        const why = `record carries seq ${peek.header.seq}, expected ${this.pos.seq}`;
        throw corrupt(this.catalog.dir, seg.firstSeq, peek.offset, why);
      }
      scanner.skip();
      this.pos = { seg, seq: this.pos.seq + 1, offset: scanner.offset };
    }
  }

  /** At the very end of a segment that has a successor, the position is really the successor's start. */
  private async stepOverEnd(seg: Segment): Promise<void> {
    if (this.pos.offset < seg.size) return;
    const next = this.catalog.segments[this.catalog.indexOf(seg) + 1];
    if (next && next.firstSeq === this.pos.seq) {
      this.pos = { seg: next, seq: next.firstSeq, offset: 0 };
      await this.release();
    }
  }
}
