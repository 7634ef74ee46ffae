// The source's durable ordered queue: a segmented append-only log per replication connection,
// holding captured operations until the target acknowledges them. See docs/JOURNAL.md.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DurableCounter } from '../shared/durable-counter.js';
import { SmrError, asSmrError } from '../shared/errors.js';
import { fsyncDir } from '../shared/fsutil.js';
import { AckCursor, type JournalPosition } from './ack-cursor.js';
import { AppendQueue } from './append-queue.js';
import { HotTail, type HotRecord } from './hot-tail.js';
import { encodeEntry } from './record.js';
import { SegmentReader, type ReaderSource } from './reader.js';
import { recoverJournal } from './recovery.js';
import { removeAllSegments, unlinkSegment, type SegmentCatalog } from './segment.js';
import { Serial } from './serial.js';
import type { JournalEntry, JournalOptions, JournalReader, JournalRecord } from './types.js';
import { SegmentWriter } from './writer.js';
import { resolveOptions, type JournalSettings } from './options.js';
import { QueueLimit } from './limit.js';

export type { JournalEntry, JournalOptions, JournalReader, JournalRecord } from './types.js';
export { JournalTrimmedError } from './reader.js';
export { QueueFullError, queueLimitFor, MIN_QUEUE_LIMIT } from './limit.js';
export { HOT_TAIL_BYTES } from './hot-tail.js';
/** The defaults of the journal's options (options.ts). */
export { DEFAULT_SEGMENT_BYTES, DEFAULT_SYNC_INTERVAL_MS } from './options.js';
/** Name of the acked-seq counter file inside the journal directory. */
export const ACK_FILE = 'acked.counter';
/** Counter tag bit: a reset was recorded but its segment deletion may not have finished. */
const RESET_PENDING = 1;

/** A durable, ordered, segmented queue of entries on disk (one per replication connection). */
export class Journal implements ReaderSource {
  private readonly queue: AppendQueue;
  private readonly lock = new Serial();
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<() => void>();
  private readonly readers = new Set<SegmentReader>();
  private gen = 0;
  private closing: Promise<void> | null = null;
  private closed = false;
  /** Bound on the un-acknowledged bytes (`connect --queue-limit`); appends past it throw. */
  readonly limit = new QueueLimit();

  private constructor(
    readonly catalog: SegmentCatalog,
    private readonly counter: DurableCounter,
    private readonly writer: SegmentWriter,
    private readonly cursor: AckCursor,
    private acked: number,
    private readonly hotTail: HotTail,
  ) {
    this.queue = new AppendQueue(writer, hotTail, () => this.notify());
  }

  /** Opens (creating if needed) the journal in `dir`, recovering from whatever a crash left. */
  static async open(dir: string, opts: JournalOptions = {}): Promise<Journal> {
    const settings = resolveOptions(opts);
    try {
      const made = await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      if (made !== undefined) await fsyncDir(path.dirname(path.resolve(made)));
    } catch (err) {
      throw asSmrError(err);
    }
    const counter = await DurableCounter.open(path.join(dir, ACK_FILE)).catch((err: unknown) => {
      throw asSmrError(err);
    });
    try {
      // The counter file may have just been created: its name must survive a power loss too.
      await fsyncDir(dir);
      return await Journal.recover(dir, settings, counter);
    } catch (err) {
      await counter.close();
      throw asSmrError(err);
    }
  }

  private static async recover(
    dir: string,
    settings: JournalSettings,
    counter: DurableCounter,
  ): Promise<Journal> {
    if (counter.tag & RESET_PENDING) {
      await removeAllSegments(dir);
      await fsyncDir(dir);
      await counter.set(counter.value, 0);
    }
    const acked = counter.value;
    const { catalog, lastRecordSeq, ackPosition } = await recoverJournal(dir, acked);
    const writer = new SegmentWriter(catalog, settings, Math.max(acked, lastRecordSeq));
    await writer.resume();
    const ackSeg = ackPosition.firstSeq === null ? undefined : catalog.locate(ackPosition.firstSeq);
    const pos = { seg: ackSeg ?? null, seq: acked + 1, offset: ackPosition.offset };
    const cursor = new AckCursor(catalog, pos);
    // Starts empty: after a restart every reader begins on disk.
    return new Journal(catalog, counter, writer, cursor, acked, new HotTail(settings.hotTailBytes));
  }

  /** Highest appended seq (0 if nothing was ever appended). */
  get lastSeq(): number {
    return this.writer.lastSeq;
  }

  /** Highest seq readers may take (ReaderSource). */
  get readableSeq(): number {
    return Math.min(this.writer.lastSeq, this.queue.published);
  }

  /** Highest acknowledged seq; everything up to it may already be deleted. */
  get ackedSeq(): number {
    return this.acked;
  }

  /** Bumped by reset (ReaderSource). */
  get generation(): number {
    return this.gen;
  }

  /** True once close() has taken effect (ReaderSource). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Appends one entry; resolves once it is written to the OS (not necessarily fsynced). */
  async append(entry: JournalEntry): Promise<JournalRecord> {
    if (this.closing) throw closedError();
    // Queued appends count too: a burst of appends made before any is written would all pass.
    this.limit.check(() => this.cursor.unackedBytes() + this.queue.pendingBytes);
    return this.queue.append(entry, encodeEntry(entry));
  }

  /**
   * True once a write or fdatasync failed (a full disk): every append is refused until reset()
   * succeeds. What was written before the failure can still be read and acknowledged.
   */
  get failed(): boolean {
    return this.writer.failed;
  }

  /** Forces an fdatasync covering every append made before this call. */
  async sync(): Promise<void> {
    if (this.closing) throw closedError();
    const target = await this.queue.barrier(async () => this.writer.lastSeq);
    await this.writer.syncTo(target);
  }

  /** Durably records that the target applied everything up to `seq`; deletes fully-acked segments. */
  ack(seq: number): Promise<void> {
    return this.lock.run(async () => {
      if (this.closed) throw closedError();
      if (!Number.isSafeInteger(seq)) throw new SmrError('usage', `cannot ack seq ${seq}`);
      if (seq <= this.acked) return;
      if (seq > this.lastSeq) {
        throw new SmrError(
          'usage',
          `cannot ack seq ${seq}: the last appended seq is ${this.lastSeq}`,
        );
      }
      await this.counter.set(seq, 0);
      // Where the next record starts is known when the acked one is still in memory: walking the
      // segment to find it read back every byte a mirror wrote (headers sit between the data).
      const hot = this.hotTail.get(seq);
      const next = hot && { seg: hot.seg, seq: seq + 1, offset: hot.offset + hot.size };
      await this.cursor.advance(seq, next);
      this.acked = seq;
      // Acked records are never needed again; a reader behind ackedSeq gets what the disk says.
      this.hotTail.dropThrough(seq);
      await this.trim();
      notifyAll(this.ackListeners);
    });
  }

  /** The un-acknowledged tail: how many records and how many bytes on disk. */
  stats(): { ops: number; bytes: number } {
    return { ops: this.lastSeq - this.acked, bytes: this.cursor.unackedBytes() };
  }

  /** A reader over records with seq >= fromSeq, in order (from the hot tail or from disk). */
  reader(fromSeq: number): JournalReader {
    if (this.closing) throw closedError();
    if (!Number.isSafeInteger(fromSeq))
      throw new SmrError('usage', `cannot read from seq ${fromSeq}`);
    const reader = new SegmentReader(this, fromSeq);
    this.readers.add(reader);
    return reader;
  }

  /** Drops every record; the next append gets `nextSeq` and ackedSeq becomes nextSeq - 1. */
  reset(nextSeq: number): Promise<void> {
    if (!Number.isSafeInteger(nextSeq) || nextSeq < 1) {
      return Promise.reject(new SmrError('usage', `cannot reset the journal to seq ${nextSeq}`));
    }
    return this.lock.run(() => this.queue.barrier(() => this.doReset(nextSeq)));
  }

  /** Subscribes to "new records were written"; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Subscribes to "records were acknowledged" (the unacked bytes shrank); returns the unsubscribe function. */
  onAck(listener: () => void): () => void {
    this.ackListeners.add(listener);
    return () => {
      this.ackListeners.delete(listener);
    };
  }

  /** Writes out queued appends, syncs, and closes every file (readers included). */
  close(): Promise<void> {
    this.closing ??= this.lock.run(() => this.queue.barrier(() => this.doClose()));
    return this.closing;
  }

  /** Where the ack cursor can start a reader looking for `seq` (ReaderSource). */
  positionHint(seq: number): JournalPosition | null {
    return this.cursor.hint(seq);
  }

  /** Record `seq` if it is still in the hot tail (ReaderSource; its bytes must not be modified). */
  hotRecord(seq: number): HotRecord | undefined {
    return this.hotTail.get(seq);
  }

  /** Whether a reader on disk should switch to memory at `seq` (ReaderSource; see HotTail.settled). */
  hotSettled(seq: number): boolean {
    return this.hotTail.settled(seq);
  }

  /** Forgets a closed reader (ReaderSource). */
  readerClosed(reader: SegmentReader): void {
    this.readers.delete(reader);
  }

  private async doReset(nextSeq: number): Promise<void> {
    if (this.closed) throw closedError();
    // Recorded first: if we crash half-way, open() sees the flag and finishes the deletion.
    await this.counter.set(nextSeq - 1, RESET_PENDING);
    // In the same tick as the generation bump: no reader can get an old record from memory after it.
    this.gen++;
    this.hotTail.clear();
    try {
      await this.writer.release(false);
      await this.cursor.restart(nextSeq);
      this.catalog.clear();
      await removeAllSegments(this.catalog.dir);
      await fsyncDir(this.catalog.dir);
      this.writer.restart(nextSeq);
      this.queue.restart(nextSeq);
      await this.counter.set(nextSeq - 1, 0);
    } catch (err) {
      // Half-reset: memory and disk disagree. Refuse appends; reopening completes the reset.
      throw this.writer.poison(err, 'reset failed');
    }
    this.acked = nextSeq - 1;
    this.notify();
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.hotTail.clear();
    for (const reader of [...this.readers]) await reader.close();
    try {
      await this.writer.release();
    } finally {
      await this.cursor.release();
      await this.counter.close();
    }
  }

  /** Deletes the segments before the one holding the first un-acked record. */
  private async trim(): Promise<void> {
    const holder = this.cursor.segment;
    const count = holder ? this.catalog.indexOf(holder) : 0;
    if (count <= 0) return;
    for (const seg of this.catalog.shift(count)) await unlinkSegment(seg.file);
    await fsyncDir(this.catalog.dir);
  }

  private notify(): void {
    notifyAll(this.listeners);
  }
}

function closedError(): SmrError {
  return new SmrError('usage', 'the journal is closed');
}

function notifyAll(listeners: Set<() => void>): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // A listener's failure is its own business; it must not break the writer loop.
    }
  }
}
