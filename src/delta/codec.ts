// Minimal binary writer/reader for signature payloads: LEB128 varints (safe up to 2^53), fixed
// little-endian u32/u64. The reader bounds-checks everything: its input comes off the network.
import { SmrError } from '../shared/errors.js';

/** Appends values to a growing buffer. */
export class ByteWriter {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  /** Unsigned integer up to Number.MAX_SAFE_INTEGER, 7 bits per byte. */
  varint(v: number): void {
    this.room(8);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.len++] = x;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.room(4);
    this.len = this.buf.writeUInt32LE(v, this.len);
  }
  u64(v: bigint): void {
    this.room(8);
    this.len = this.buf.writeBigUInt64LE(v, this.len);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** The bytes written (a view; the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
}

/** Reads values back; any overrun or oversized varint is a protocol error. */
export class ByteReader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      mul *= 0x80;
    }
    throw this.fail('varint too large');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) throw this.fail(`${this.remaining} trailing bytes`);
  }
  /** A protocol error naming what was being decoded. */
  fail(why: string): SmrError {
    return new SmrError('protocol', `bad ${this.what}: ${why}`);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.fail('truncated');
  }
}
