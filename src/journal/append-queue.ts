// Serializes everything that touches the active segment: appends keep call order (so seqs are
// contiguous in call order) and appends queued together go out in one write; barriers (sync,
// reset, close) run exactly between the appends queued before and after them. Each written batch
// goes into the hot tail before anyone is told about it.
import type { HotTail } from './hot-tail.js';
import type { EncodedEntry } from './record.js';
import type { JournalEntry, JournalRecord } from './types.js';
import type { SegmentWriter, WrittenBatch } from './writer.js';

/** Most records per write syscall (keeps writev under IOV_MAX with data buffers). */
const MAX_BATCH_RECORDS = 512;
/** Most bytes per write syscall, so one batch never holds the writer for long. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

type AppendItem = {
  type: 'append';
  entry: JournalEntry;
  enc: EncodedEntry;
  resolve: (rec: JournalRecord) => void;
  reject: (err: unknown) => void;
};
type BarrierItem = { type: 'barrier'; run: () => Promise<void> };

/** The single writer loop in front of a SegmentWriter. */
export class AppendQueue {
  private readonly items: (AppendItem | BarrierItem)[] = [];
  private pumping = false;
  /** The newest seq handed to the hot tail and to callers (readers take nothing newer). */
  published: number;
  /** Bytes of the appends queued and not yet written (the queue limit counts them too). */
  pendingBytes = 0;

  constructor(
    private readonly writer: SegmentWriter,
    /** Where written records are kept for readers that keep up. */
    private readonly hotTail: HotTail,
    /** Called after each batch is written (wakes readers). */
    private readonly written: () => void,
  ) {
    this.published = writer.lastSeq;
  }

  /** After a reset: the next append gets `nextSeq`. */
  restart(nextSeq: number): void {
    this.published = nextSeq - 1;
  }

  /** Queues an encoded entry; resolves with its record once written to the OS. */
  append(entry: JournalEntry, enc: EncodedEntry): Promise<JournalRecord> {
    return new Promise<JournalRecord>((resolve, reject) => {
      this.items.push({ type: 'append', entry, enc, resolve, reject });
      this.pendingBytes += enc.size;
      this.pump();
    });
  }

  /** Runs `fn` after every append queued before it has been written, before any queued after. */
  barrier<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.items.push({ type: 'barrier', run: () => fn().then(resolve, reject) });
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.drain().finally(() => {
      this.pumping = false;
      if (this.items.length > 0) this.pump();
    });
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const head = this.items[0]!;
      if (head.type === 'barrier') {
        this.items.shift();
        await head.run();
      } else {
        await this.writeBatch(this.takeBatch());
      }
    }
  }

  /** The appends at the head of the queue that fit one write and the active segment's room. */
  private takeBatch(): AppendItem[] {
    const room = Math.min(this.writer.room(), MAX_BATCH_BYTES);
    let count = 0;
    let bytes = 0;
    while (count < MAX_BATCH_RECORDS) {
      const item = this.items[count];
      if (!item || item.type !== 'append') break;
      if (count > 0 && bytes + item.enc.size > room) break;
      bytes += item.enc.size;
      count++;
    }
    return this.items.splice(0, count) as AppendItem[];
  }

  private async writeBatch(batch: AppendItem[]): Promise<void> {
    let written: WrittenBatch;
    try {
      written = await this.writer.write(batch.map((item) => item.enc));
    } catch (err) {
      this.settled(batch);
      for (const item of batch) item.reject(err);
      return;
    }
    // Only now, with the bytes in the OS, may readers get these records (from memory or disk).
    let offset = written.offset;
    batch.forEach((item, i) => {
      const seq = written.firstSeq + i;
      this.hotTail.add(seq, item.enc, written.seg, offset);
      offset += item.enc.size;
      const { kind, meta, data } = item.entry;
      const rec: JournalRecord = { seq, size: item.enc.size, kind, meta };
      if (data) rec.data = data;
      item.resolve(rec);
    });
    this.published = written.firstSeq + batch.length - 1;
    this.settled(batch); // in the same turn as the hot tail and the cursor learn of them
    this.written();
  }

  private settled(batch: AppendItem[]): void {
    for (const item of batch) this.pendingBytes -= item.enc.size;
  }
}
