// Readers replay the journal: records still in the hot tail come from memory, older ones from disk,
// one segment file at a time through a fixed-size buffer, so a sender far behind costs file reads,
// not memory. A reader switches between the two at any record: it always knows where its next
// record starts on disk, so falling out of the hot tail costs one seek, not a rescan.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SmrError } from '../shared/errors.js';
import type { JournalPosition } from './ack-cursor.js';
import type { HotRecord } from './hot-tail.js';
import { decodeParts, decodeRecord } from './record.js';
import { corrupt } from './recovery.js';
import { RecordScanner } from './scanner.js';
import type { Segment, SegmentCatalog } from './segment.js';
import type { JournalReader, JournalRecord } from './types.js';

/** What a reader needs from its journal (implemented by Journal). */
export interface ReaderSource {
  readonly catalog: SegmentCatalog;
  readonly lastSeq: number;
  /**
   * Highest seq a reader may take: written to the OS and, with a hot tail, already in it. Can lag
   * lastSeq for a moment (the writer counts a batch before the tail takes it); a reader that
   * looked for a record in that moment went to disk and stayed there (most of a mirror's records).
   */
  readonly readableSeq: number;
  /** Bumped by reset: positions taken before it mean nothing after it. */
  readonly generation: number;
  readonly isClosed: boolean;
  positionHint(seq: number): JournalPosition | null;
  /** Record `seq` if it is in the hot tail (written to the OS, not yet dropped). */
  hotRecord(seq: number): HotRecord | undefined;
  /** Whether `seq` is in the hot tail and not about to be dropped from it. */
  hotSettled(seq: number): boolean;
  readerClosed(reader: SegmentReader): void;
}

/** Thrown when a reader wants records that ack (or reset) has already deleted. */
export class JournalTrimmedError extends SmrError {
  constructor(
    readonly seq: number,
    readonly oldestSeq: number,
  ) {
    super(
      'usage',
      `journal no longer holds seq ${seq}: it was acknowledged and trimmed (oldest kept is ${oldestSeq})`,
      'read from ackedSeq + 1 or later',
    );
  }
}

/** A JournalReader over segment files; next() calls are serialized. */
export class SegmentReader implements JournalReader {
  private want: number;
  private seg: Segment | null = null;
  private fh: FileHandle | null = null;
  private scanner: RecordScanner | null = null;
  /** Where record `want` starts on disk, when known (from the last record read). */
  private resumeAt: JournalPosition | null = null;
  private generation: number;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly src: ReaderSource,
    fromSeq: number,
  ) {
    this.want = Math.max(1, fromSeq);
    this.generation = src.generation;
  }

  next(): Promise<JournalRecord | null> {
    const result = this.queue.then(() => this.step());
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.src.readerClosed(this);
    await this.queue;
    await this.release();
  }

  private async step(): Promise<JournalRecord | null> {
    for (;;) {
      if (this.closed || this.src.isClosed) throw new SmrError('usage', 'journal reader is closed');
      if (this.generation !== this.src.generation) {
        // A reset replaced the journal's contents; find our seq afresh (or learn it is gone).
        this.generation = this.src.generation;
        this.resumeAt = null;
        await this.release();
      }
      if (this.want > this.src.readableSeq) return null;
      const hot = this.src.hotRecord(this.want);
      if (hot && !this.scanner) return this.fromMemory(hot);
      if (hot && this.src.hotSettled(this.want)) {
        // Caught up with the hot tail, well inside it: let the segment go. Look again after the
        // await (a reset or eviction may have happened meanwhile); resumeAt keeps our place on disk.
        await this.release();
        continue;
      }
      if (!this.scanner) await this.openAt(this.want);
      const rec = await this.readOne();
      if (rec === 'again') continue;
      if (this.generation !== this.src.generation) continue;
      this.want = rec.seq + 1;
      return rec;
    }
  }

  /** Returns a hot-tail record, decoded from the same bytes the disk holds (no read, no crc). */
  private fromMemory(hot: HotRecord): JournalRecord {
    // No copy: the tail's data never changes, and a mirror's every byte goes through here.
    const rec = decodeParts(hot.head, hot.data);
    this.want = rec.seq + 1;
    this.resumeAt = { seg: hot.seg, seq: this.want, offset: hot.offset + hot.size };
    return rec;
  }

  /** Reads the record at the scanner: a wanted record, or 'again' after skipping or moving on. */
  private async readOne(): Promise<JournalRecord | 'again'> {
    const seg = this.seg!;
    const scanner = this.scanner!;
    const peek = await scanner.peek(seg.size);
    if (peek.type === 'end') {
      await this.moveOn(seg);
      return 'again';
    }
    if (peek.type === 'bad')
      throw corrupt(this.src.catalog.dir, seg.firstSeq, peek.offset, peek.reason);
    const { seq } = peek.header;
    if (seq < this.want) {
      scanner.skip();
      return 'again';
    }
    if (seq !== this.want) {
      const why = `record carries seq ${seq}, expected ${this.want}`;
      throw corrupt(this.src.catalog.dir, seg.firstSeq, peek.offset, why);
    }
    const taken = await scanner.take(seg.size);
    if (taken.type === 'bad')
      throw corrupt(this.src.catalog.dir, seg.firstSeq, taken.offset, taken.reason);
    const rec = decodeRecord(taken.bytes);
    this.resumeAt = { seg, seq: seq + 1, offset: scanner.offset };
    return rec;
  }

  /** At the end of a segment: continue in the one that starts with the wanted seq. */
  private async moveOn(seg: Segment): Promise<void> {
    const next = this.src.catalog.locate(this.want);
    if (next === seg) {
      throw new SmrError('internal', `journal segment ${seg.file} ends before seq ${this.want}`);
    }
    await this.release();
    if (next) await this.openSegment(next, { seg: next, seq: next.firstSeq, offset: 0 });
    else this.trimmed();
  }

  /** Finds the segment holding `seq` and opens it as close to the record as is known. */
  private async openAt(seq: number): Promise<void> {
    const seg = this.src.catalog.locate(seq);
    if (!seg) return this.trimmed();
    await this.openSegment(seg, this.startIn(seg, seq));
  }

  /** Our own record of where `seq` starts, else the ack cursor when it helps, else the segment start. */
  private startIn(seg: Segment, seq: number): JournalPosition {
    const known = this.resumeAt;
    if (known?.seg === seg && known.seq === seq) return known;
    const hint = this.src.positionHint(seq);
    return hint?.seg === seg ? hint : { seg, seq: seg.firstSeq, offset: 0 };
  }

  private async openSegment(seg: Segment, at: JournalPosition): Promise<void> {
    try {
      this.fh = await fsp.open(seg.file, 'r');
    } catch (err) {
      // Deleted by ack between lookup and open.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.trimmed();
      throw err;
    }
    this.seg = seg;
    this.scanner = new RecordScanner(this.fh, at.offset);
  }

  private trimmed(): never {
    const oldest = this.src.catalog.first?.firstSeq ?? this.src.lastSeq + 1;
    throw new JournalTrimmedError(this.want, oldest);
  }

  private async release(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    this.seg = null;
    this.scanner = null;
    await fh?.close();
  }
}
