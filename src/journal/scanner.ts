// Sequential record scanning over one segment file through a fixed-size buffer, so memory stays
// bounded whatever the segment size; the buffer only grows, for one record, when a record is bigger.
import type { FileHandle } from 'node:fs/promises';
import {
  RECORD_HEADER_BYTES,
  checkLength,
  checkRecord,
  readHeader,
  type RecordHeader,
} from './record.js';

/** Default read buffer: large enough to batch many small records per read syscall. */
export const READ_BUFFER_BYTES = 256 * 1024;

/** What sits at the scanner's position: a record header, the end of the data, or damage. */
export type ScanResult =
  | { type: 'record'; offset: number; header: RecordHeader }
  | { type: 'end'; offset: number }
  | { type: 'bad'; offset: number; reason: string };

/** The verified bytes of a whole record (valid until the next scanner call), or damage. */
export type TakeResult =
  { type: 'record'; bytes: Buffer } | { type: 'bad'; offset: number; reason: string };

/** Walks records from `offset`, never reading at or past the caller's `limit` (the written size). */
export class RecordScanner {
  private readonly base: Buffer;
  private buf: Buffer;
  private start = 0; // buf[start, end) holds file bytes from `offset` on
  private end = 0;
  private peeked: RecordHeader | null = null;

  constructor(
    private readonly fh: FileHandle,
    public offset = 0,
    bufferBytes = READ_BUFFER_BYTES,
  ) {
    this.base = Buffer.allocUnsafe(Math.max(bufferBytes, RECORD_HEADER_BYTES));
    this.buf = this.base;
  }

  /** Reads the header of the record at the current offset without consuming it. */
  async peek(limit: number): Promise<ScanResult> {
    const offset = this.offset;
    if (this.peeked) return { type: 'record', offset, header: this.peeked };
    const left = limit - offset;
    if (left <= 0) return { type: 'end', offset };
    if (left < RECORD_HEADER_BYTES) return { type: 'bad', offset, reason: 'torn record header' };
    if (!(await this.fill(RECORD_HEADER_BYTES, limit))) {
      return { type: 'bad', offset, reason: 'segment file shorter than expected' };
    }
    const header = readHeader(this.buf.subarray(this.start, this.start + RECORD_HEADER_BYTES));
    const why = checkLength(header.len);
    if (why) return { type: 'bad', offset, reason: why };
    if (header.len > left) return { type: 'bad', offset, reason: 'torn record (cut short)' };
    this.peeked = header;
    return { type: 'record', offset, header };
  }

  /** Reads and checksums the whole peeked record, consuming it only if it is intact. */
  async take(limit: number): Promise<TakeResult> {
    const h = this.peeked;
    if (!h) throw new Error('RecordScanner.take without a successful peek');
    if (!(await this.fill(h.len, limit))) {
      return { type: 'bad', offset: this.offset, reason: 'segment file shorter than expected' };
    }
    const bytes = this.buf.subarray(this.start, this.start + h.len);
    const why = checkRecord(bytes);
    if (why) return { type: 'bad', offset: this.offset, reason: why };
    this.consume(h.len);
    return { type: 'record', bytes };
  }

  /** Steps over the peeked record without reading its body (used to seek forward cheaply). */
  skip(): void {
    const h = this.peeked;
    if (!h) throw new Error('RecordScanner.skip without a successful peek');
    if (h.len <= this.end - this.start) {
      this.consume(h.len);
    } else {
      // The body is not buffered: drop the window, the next fill reads from the new offset.
      this.offset += h.len;
      this.start = this.end = 0;
      this.peeked = null;
      this.buf = this.base;
    }
  }

  private consume(len: number): void {
    this.offset += len;
    this.start += len;
    this.peeked = null;
    if (this.buf !== this.base && this.start === this.end) {
      // The one-off oversize buffer has served its record; let it be collected.
      this.buf = this.base;
      this.start = this.end = 0;
    }
  }

  /** Ensures `n` bytes from `offset` are buffered; false if the file ends first. */
  private async fill(n: number, limit: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    if (this.start + n > this.buf.length) this.makeRoom(n);
    while (this.end - this.start < n) {
      const filePos = this.offset + (this.end - this.start);
      const want = Math.min(this.buf.length - this.end, limit - filePos);
      if (want <= 0) return false;
      const { bytesRead } = await this.fh.read(this.buf, this.end, want, filePos);
      if (bytesRead === 0) return false;
      this.end += bytesRead;
    }
    return true;
  }

  /** Moves the buffered bytes to the front, into a record-sized buffer if `n` exceeds the base. */
  private makeRoom(n: number): void {
    const have = this.end - this.start;
    const next = n > this.base.length ? Buffer.allocUnsafe(n) : this.base;
    this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = have;
  }
}
