// Reading files through fixed buffers (a window for random access, a read-ahead pair for streaming):
// the only ways the delta engine reads, so memory never grows with file size.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { asSmrError } from '../shared/errors.js';
import { IO_BUFFER_BYTES } from './limits.js';
import { fsPath } from '../shared/name-bytes.js';

/** Opens a file for reading, turning fs errors into SmrError('io'). */
export async function openRead(path: string): Promise<FileHandle> {
  try {
    return await fsp.open(fsPath(path), 'r');
  } catch (err) {
    throw asSmrError(err);
  }
}

/** Reads until `length` bytes are in `buf` at `at`, or end of file; returns the count read. */
export async function readFully(
  fh: FileHandle,
  buf: Uint8Array,
  at: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, at + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** A resident window [start, end) of a file, reloaded on demand; `buf[i - start]` is byte i. */
export class FileWindow {
  readonly buf: Buffer;
  start = 0;
  end = 0;
  constructor(
    readonly fh: FileHandle,
    private readonly limit: number,
    capacity = IO_BUFFER_BYTES,
  ) {
    // Own ArrayBuffer at offset 0, so 32-bit views of it are aligned.
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** True when [pos, pos + len) is resident (lets hot loops skip an await). */
  has(pos: number, len: number): boolean {
    return pos >= this.start && pos + len <= this.end;
  }

  /**
   * Makes [pos, pos + len) resident; false when it runs past the limit or end of file. A reload
   * reads ahead no further than `until` (the end of the range being worked on), so scattered small
   * ranges do not each cost a whole buffer of reading.
   */
  async ensure(pos: number, len: number, until = this.limit): Promise<boolean> {
    if (pos >= this.start && pos + len <= this.end) return true;
    const stop = Math.min(this.limit, Math.max(until, pos + len));
    const want = Math.min(this.buf.length, stop - pos);
    const got = want > 0 ? await readFully(this.fh, this.buf, 0, want, pos) : 0;
    this.start = pos;
    this.end = pos + got;
    return pos + len <= this.end;
  }

  /** The resident bytes [pos, pos + len) (call ensure first). */
  view(pos: number, len: number): Buffer {
    return this.buf.subarray(pos - this.start, pos - this.start + len);
  }
}

/**
 * Sequential reader of [start, end) that keeps the next read in flight while the caller works on
 * the current block, so hashing and disk reads overlap. Two buffers of `blockBytes`.
 */
export class ReadAhead {
  private readonly bufs: [Buffer, Buffer];
  private slot = 0;
  private pos: number;
  private pending: Promise<number> | undefined;
  private wanted = 0;
  done = false;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
    blockBytes = IO_BUFFER_BYTES / 2,
  ) {
    this.pos = start;
    this.bufs = [Buffer.allocUnsafe(blockBytes), Buffer.allocUnsafe(blockBytes)];
  }

  /** The next block (valid until the next call, which reuses its buffer); empty at the end. */
  async read(): Promise<Buffer> {
    if (this.done) return this.bufs[0].subarray(0, 0);
    const buf = this.bufs[this.slot]!;
    const got = await (this.pending ?? this.issue(this.slot));
    this.done = got < this.wanted || this.pos >= this.end;
    this.slot ^= 1;
    this.pending = this.done ? undefined : this.issue(this.slot);
    return buf.subarray(0, got);
  }

  private issue(slot: number): Promise<number> {
    const buf = this.bufs[slot]!;
    const want = Math.min(buf.length, this.end - this.pos);
    const at = this.pos;
    this.pos += want;
    this.wanted = want;
    if (want <= 0) return Promise.resolve(0);
    const p = readFully(this.fh, buf, 0, want, at);
    p.catch(() => 0); // thrown where it is awaited; not an unhandled rejection meanwhile
    return p;
  }

  /** Waits for a read still in flight (call before closing the file). */
  async settle(): Promise<void> {
    await this.pending?.catch(() => 0);
  }
}
