// The append side: writes sealed records into the active (last) segment, rolls to a new segment
// when it is full, and runs group commit (one fdatasync covers every append since the previous one).
import { promises as fsp, constants as C, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SmrError, asSmrError } from '../shared/errors.js';
import { fsyncDir } from '../shared/fsutil.js';
import { sealRecord, type EncodedEntry } from './record.js';
import { segmentFileName, type Segment, type SegmentCatalog } from './segment.js';

/**
 * Batches up to this size are written with a synchronous writev on the event loop: copying a few
 * KiB into the page cache takes microseconds, while a thread-pool round trip costs ~10-25 us, which
 * would cap one awaiting appender at well under 100k records/s. Bigger batches go to the pool.
 */
export const SYNC_WRITE_MAX_BYTES = 256 * 1024;

/** Settings the writer needs, already defaulted. */
export interface WriterSettings {
  segmentBytes: number;
  syncIntervalMs: number;
}

/** Where a written batch went: its first seq, and the segment and offset its first record starts at. */
export interface WrittenBatch {
  firstSeq: number;
  seg: Segment;
  offset: number;
}

/** Owns the active segment's file handle; one batch at a time (the journal's queue ensures it). */
export class SegmentWriter {
  private fh: FileHandle | null = null;
  private seg: Segment | null = null;
  private syncing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failure: SmrError | null = null;
  /** Highest seq known to be on stable storage. */
  private syncedSeq: number;

  constructor(
    private readonly catalog: SegmentCatalog,
    private readonly settings: WriterSettings,
    /** Highest seq written to the OS. */
    public lastSeq: number,
  ) {
    this.syncedSeq = lastSeq;
  }

  /** True while appends are refused after a failed write or sync (until restart()). */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Bytes the next batch may take before the active segment is full (a fresh one if it is). */
  room(): number {
    const used = this.seg && this.seg.size < this.settings.segmentBytes ? this.seg.size : 0;
    return this.settings.segmentBytes - used;
  }

  /** Writes a batch of records with consecutive seqs; resolves once the OS has them all. */
  async write(batch: EncodedEntry[]): Promise<WrittenBatch> {
    if (this.failure) throw this.failure;
    if (!this.seg || !this.fh || this.seg.size >= this.settings.segmentBytes) {
      await this.roll();
    }
    const fh = this.fh!;
    const seg = this.seg!;
    const first = this.lastSeq + 1;
    const offset = seg.size;
    const bufs: Buffer[] = [];
    let bytes = 0;
    batch.forEach((enc, i) => {
      sealRecord(enc, first + i);
      bufs.push(enc.head);
      if (enc.data && enc.data.length > 0) bufs.push(enc.data);
      bytes += enc.size;
    });
    try {
      const written = await writeAll(fh, bufs, bytes, offset);
      if (written !== bytes) throw new Error(`short write: ${written} of ${bytes} bytes`);
    } catch (err) {
      // Part of the batch may be on disk now; further appends would land after junk. Stop here;
      // reopening truncates the partial record.
      throw this.fail(err, 'append failed');
    }
    this.catalog.grow(seg, bytes);
    this.lastSeq += batch.length;
    this.scheduleSync();
    return { firstSeq: first, seg, offset };
  }

  /** Resolves once every seq up to `target` is fdatasync'ed (joins a sync already running). */
  async syncTo(target: number): Promise<void> {
    while (this.syncedSeq < target) {
      if (this.failure) throw this.failure;
      if (this.syncing) {
        await this.syncing.catch(() => undefined);
        continue;
      }
      if (!this.fh) return;
      this.syncing = this.syncOnce(this.fh);
      await this.syncing;
    }
  }

  /** Releases the active segment, synced first unless it is about to be deleted (reset). */
  async release(sync = true): Promise<void> {
    this.clearTimer();
    if (sync && !this.failure) await this.syncTo(this.lastSeq);
    else await this.syncing?.catch(() => undefined);
    const fh = this.fh;
    this.fh = null;
    this.seg = null;
    await fh?.close();
  }

  /** After a reset: nothing on disk, the next append gets `nextSeq`. */
  restart(nextSeq: number): void {
    this.lastSeq = nextSeq - 1;
    this.syncedSeq = this.lastSeq;
    this.failure = null;
  }

  /** Opens the catalog's last segment to append to it (after recovery). */
  async resume(): Promise<void> {
    const seg = this.catalog.last;
    if (!seg) return;
    this.fh = await fsp.open(seg.file, C.O_WRONLY);
    this.seg = seg;
  }

  /** Seals the current segment (synced, so no later segment can outlive a torn earlier one). */
  private async roll(): Promise<void> {
    if (this.fh) {
      await this.syncTo(this.lastSeq);
      const old = this.fh;
      this.fh = null;
      this.seg = null;
      await old.close();
    }
    const firstSeq = this.lastSeq + 1;
    const file = path.join(this.catalog.dir, segmentFileName(firstSeq));
    try {
      // O_EXCL: a leftover file with this name would mean two writers or a recovery bug.
      this.fh = await fsp.open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      await fsyncDir(this.catalog.dir);
    } catch (err) {
      throw this.fail(err, `cannot create segment ${file}`);
    }
    this.seg = this.catalog.add(firstSeq);
  }

  private async syncOnce(fh: FileHandle): Promise<void> {
    const upTo = this.lastSeq;
    try {
      await fh.datasync();
      this.syncedSeq = Math.max(this.syncedSeq, upTo);
    } catch (err) {
      // After a failed fdatasync the page cache state is unknown (fsyncgate): never retry blindly.
      throw this.fail(err, 'fdatasync failed');
    } finally {
      this.syncing = null;
    }
  }

  /** Group commit: the first unsynced append arms one timer; its sync covers all appends since. */
  private scheduleSync(): void {
    if (this.timer || this.syncedSeq >= this.lastSeq) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A failure is remembered in `failure` and surfaces on the next append or sync().
      this.syncTo(this.lastSeq).catch(() => undefined);
    }, this.settings.syncIntervalMs);
    // Unsynced appends are already in the page cache; a pending sync must not keep the process up.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Refuses every later append and sync with this error (until a successful reset). */
  poison(err: unknown, what: string): SmrError {
    return this.fail(err, what);
  }

  private fail(err: unknown, what: string): SmrError {
    const cause = asSmrError(err);
    this.failure = new SmrError('io', `journal ${what}: ${cause.message}`, 'reopen the journal', {
      cause: err,
    });
    return this.failure;
  }
}

/** Writes `bufs` at `position`, inline when small (see SYNC_WRITE_MAX_BYTES); returns bytes written. */
async function writeAll(
  fh: FileHandle,
  bufs: Buffer[],
  bytes: number,
  position: number,
): Promise<number> {
  if (bytes <= SYNC_WRITE_MAX_BYTES) return writevSync(fh.fd, bufs, position);
  const { bytesWritten } = await fh.writev(bufs, position);
  return bytesWritten;
}
