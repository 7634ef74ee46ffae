// Length-prefixed frames: u32 length | u8 type | u32 header length | JSON header | body, or, with
// the type's high bit set, u32 length | u8 type|0x80 | u8 codec | u32 size | compressed rest.
// Every frame decoded here goes through the validating decoder (decode.ts) before anyone sees it.
import { SmrError } from '../shared/errors.js';
import { codecById, compressPayload, type Codec } from './compress.js';
import { decodeFrame } from './decode.js';
import { MAX_BODY_BYTES, MAX_FRAME_BYTES, MAX_HEADER_BYTES } from './limits.js';
import type { Frame, MsgTypeCode, WireHeaders } from './messages.js';

const EMPTY = Buffer.alloc(0);
/** Set in the type byte of a compressed frame. */
export const COMPRESSED_FLAG = 0x80;

/** Encodes one frame as a list of buffers (the body is not copied unless compressed). */
export function encodeFrame<T extends MsgTypeCode>(
  type: T,
  header: WireHeaders[T],
  body: Buffer = EMPTY,
  codec: Codec | null = null,
): Buffer[] {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  if (h.length > MAX_HEADER_BYTES) {
    throw new SmrError(
      'frame-too-large',
      `frame header of ${h.length} bytes exceeds ${MAX_HEADER_BYTES}`,
    );
  }
  if (body.length > MAX_BODY_BYTES) {
    throw new SmrError(
      'frame-too-large',
      `frame body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`,
    );
  }
  const prefix = Buffer.allocUnsafe(9);
  prefix.writeUInt32BE(h.length, 5);
  const packed = codec ? compressPayload(codec, [prefix.subarray(5), h, body]) : null;
  if (packed) {
    const cprefix = Buffer.allocUnsafe(10);
    cprefix.writeUInt32BE(1 + 1 + 4 + packed.length, 0);
    cprefix.writeUInt8(type | COMPRESSED_FLAG, 4);
    cprefix.writeUInt8((codec as Codec).id, 5);
    cprefix.writeUInt32BE(4 + h.length + body.length, 6);
    return [cprefix, packed];
  }
  prefix.writeUInt32BE(1 + 4 + h.length + body.length, 0);
  prefix.writeUInt8(type, 4);
  return body.length ? [prefix, h, body] : [prefix, h];
}

/**
 * Incremental decoder: feed socket chunks, get whole, checked frames; throws on malformed or
 * oversized input and on a header its type does not allow (the connection must then close).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /**
   * `maxFrame` bounds a frame's length (raised after authentication); `codecs` says which
   * compressed frames are accepted (none before authentication).
   */
  constructor(
    public maxFrame = MAX_FRAME_BYTES,
    public codecs: ReadonlySet<number> = new Set(),
  ) {}

  /** Adds bytes and returns every frame now complete. */
  push(chunk: Buffer): Frame[] {
    this.feed(chunk);
    const out: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) out.push(f);
    return out;
  }

  /** Adds bytes; frames are taken out one at a time with next(). */
  feed(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete frame, or null until more bytes come; throws on a malformed one. One at a
   * time, so a receiver that falls behind can stop taking them: a few bytes of compressed frames
   * decompress to megabytes each, and must not all be expanded at once.
   */
  next(): Frame | null {
    if (this.buffered < 4) return null;
    const len = this.peekLength();
    if (len < 5 || len > this.maxFrame) {
      throw new SmrError('frame-too-large', `frame of ${len} bytes is outside 5..${this.maxFrame}`);
    }
    if (this.buffered < 4 + len) return null;
    const { raw, owned } = this.take(4 + len);
    return this.decode(raw.subarray(4), owned);
  }

  private decode(b: Buffer, owned: boolean): Frame {
    const type = b.readUInt8(0);
    if (!(type & COMPRESSED_FLAG)) return decodeRest(type, b.subarray(1), owned);
    const codec = b.length >= 6 ? codecById(b.readUInt8(1)) : null;
    if (!codec || !this.codecs.has(codec.id))
      throw new SmrError('protocol', 'a compressed frame with a codec this link did not agree on');
    const size = b.readUInt32BE(2);
    if (size < 4 || size > this.maxFrame - 1)
      throw new SmrError('frame-too-large', `compressed frame of ${size} bytes is too large`);
    return decodeRest(type & ~COMPRESSED_FLAG, codec.decompress(b.subarray(6), size), true);
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks, 4).readUInt32BE(0);
  }

  /**
   * The next `n` bytes. A frame inside one socket chunk is a view of it (not owned: the body must
   * be copied out, or a retained frame would pin the whole chunk); a frame spread over several is
   * copied once, into a buffer of its own, and needs no second copy.
   */
  private take(n: number): { raw: Buffer; owned: boolean } {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      const rest = first.subarray(n);
      this.chunks.splice(0, 1, ...(rest.length ? [rest] : []));
      this.buffered -= n;
      return { raw: first.subarray(0, n), owned: false };
    }
    const raw = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Buffer;
      const use = Math.min(c.length, n - at);
      c.copy(raw, at, 0, use);
      at += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.buffered -= n;
    return { raw, owned: true };
  }
}

/** Parses `u32 header length | header | body` of a frame of `type`. */
function decodeRest(type: number, b: Buffer, owned: boolean): Frame {
  const hlen = b.length >= 4 ? b.readUInt32BE(0) : -1;
  if (hlen < 0 || hlen > MAX_HEADER_BYTES || 4 + hlen > b.length) {
    throw new SmrError('protocol', `bad header length ${hlen} in frame of ${b.length + 1} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(b.subarray(4, 4 + hlen).toString('utf8'));
  } catch {
    throw new SmrError('protocol', 'frame header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SmrError('protocol', 'frame header is not a JSON object');
  }
  const body = b.subarray(4 + hlen);
  return decodeFrame(type, header, owned ? body : Buffer.from(body));
}
