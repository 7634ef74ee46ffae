// The file a delta rebuilds: writes land at their destination offsets, staged into large writes
// (thousands of 4 KiB instructions become a few writes) with one write in flight while the next
// stage fills, and the bytes are hashed as they are written as long as they come in order. The
// file is new, so all-zero blocks are not written: they stay holes, as in the source (rsync -S).
import type { FileHandle } from 'node:fs/promises';
import { FileHasher } from './hash.js';
import { zeroRuns } from '../shared/zeros.js';
import { IO_BUFFER_BYTES, READ_AHEAD_BYTES } from './limits.js';
import { ReadAhead, type FileWindow } from './reader.js';

/** Output is written in pieces of this size. */
const STAGE_BYTES = IO_BUFFER_BYTES / 2;
/** Copies at least this long stream from the basis instead of going through the window. */
const STREAM_COPY_BYTES = 1024 * 1024;

/**
 * The sha256 of a rebuild's bytes written so far, in destination order from offset 0: `next` is
 * the offset the next byte must have for the hash to stay usable, -1 once one came out of order
 * (the proof then reads the file back).
 */
export interface StreamProof {
  hasher: FileHasher;
  next: number;
}

/** A rebuild's output file (a temp file its caller owns). */
export class OutFile {
  private pos = -1;
  private stageStart = 0;
  private inflight: Promise<void> = Promise.resolve();
  private stages: [Buffer, Buffer] | null = null;
  private slot: 0 | 1 = 0;
  private used = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly proof: StreamProof,
  ) {}

  /** The handle, for the caller's last touches (size, attributes) once flushed. */
  get handle(): FileHandle {
    return this.fh;
  }

  /** Writes `data` at `dst`. */
  async write(dst: number, data: Uint8Array): Promise<void> {
    if (dst !== this.pos) {
      await this.flush();
      this.pos = dst;
      this.stageStart = dst;
    }
    this.hash(dst, data);
    if (data.length >= STAGE_BYTES) {
      // A big piece (a streamed copy) goes out as it is: staging it was one more copy of every
      // byte. It is written before this returns, since the caller reuses its buffer.
      await this.flush();
      await this.inflight;
      await writeAll(this.fh, data, dst);
      this.pos += data.length;
      this.stageStart = this.pos;
      return;
    }
    this.stages ??= [Buffer.allocUnsafe(STAGE_BYTES), Buffer.allocUnsafe(STAGE_BYTES)];
    for (let off = 0; off < data.length;) {
      const n = Math.min(STAGE_BYTES - this.used, data.length - off);
      this.stages[this.slot].set(data.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === STAGE_BYTES) await this.flush();
    }
    this.pos += data.length;
  }

  /**
   * Basis [from, from + length) written at `dst`; false when the basis ends too soon. Long copies
   * stream with the next read in flight; short ones (often many, close together) share a window.
   */
  async copy(basis: FileWindow, from: number, length: number, dst: number): Promise<boolean> {
    if (length >= STREAM_COPY_BYTES) return this.stream(basis, from, length, dst);
    if (!basis.has(from, length)) {
      const ok = await basis.ensure(from, length, from + Math.max(length, READ_AHEAD_BYTES));
      if (!ok) return false;
    }
    await this.write(dst, basis.view(from, length));
    return true;
  }

  /** Writes out everything staged and waits for it. */
  async finish(): Promise<void> {
    await this.flush();
    await this.inflight;
  }

  /** Closes the file (after a failed write too). */
  async close(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await this.fh.close();
  }

  private async stream(basis: FileWindow, from: number, length: number, dst: number) {
    const reader = new ReadAhead(basis.fh, from, from + length);
    try {
      let done = 0;
      for (let buf = await reader.read(); buf.length > 0; buf = await reader.read()) {
        await this.write(dst + done, buf);
        done += buf.length;
      }
      return done === length;
    } finally {
      await reader.settle();
    }
  }

  private hash(dst: number, data: Uint8Array): void {
    const p = this.proof;
    if (p.next < 0) return;
    if (dst !== p.next) p.next = -1;
    else {
      p.hasher.update(data);
      p.next += data.length;
    }
  }

  private async flush(): Promise<void> {
    if (this.used === 0 || !this.stages) return;
    const data = this.stages[this.slot].subarray(0, this.used);
    await this.inflight;
    this.inflight = handled(writeAll(this.fh, data, this.stageStart));
    this.stageStart += this.used;
    this.used = 0;
    this.slot = this.slot === 0 ? 1 : 0;
  }
}

// Marks a promise as handled now (a failure is still thrown where it is awaited later), so a write
// failing while nobody awaits it yet is not an unhandled rejection that kills the process.
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

// Each destination range is written once into a new file (or again with the same bytes when a part
// is replayed), so a zero block skipped reads back as zeros; the caller's truncate sets the size.
async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  await zeroRuns(data, position, async (part, at, zero) => {
    if (zero) return;
    for (let done = 0; done < part.length;) {
      const { bytesWritten } = await fh.write(part, done, part.length - done, at + done);
      done += bytesWritten;
    }
  });
}
