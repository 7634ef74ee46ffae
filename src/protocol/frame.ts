// Length-prefixed frames: u32 length | u8 type | u32 header length | JSON header | body. Every
// frame decoded here goes through the validating decoder (decode.ts) before anyone sees it.
import { SmrError } from '../shared/errors.js';
import { decodeFrame } from './decode.js';
import { MAX_BODY_BYTES, MAX_FRAME_BYTES, MAX_HEADER_BYTES } from './limits.js';
import type { Frame, MsgTypeCode, WireHeaders } from './messages.js';

const EMPTY = Buffer.alloc(0);

/** Encodes one frame as a list of buffers (the body is not copied). */
export function encodeFrame<T extends MsgTypeCode>(
  type: T,
  header: WireHeaders[T],
  body: Buffer = EMPTY,
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
  prefix.writeUInt32BE(1 + 4 + h.length + body.length, 0);
  prefix.writeUInt8(type, 4);
  prefix.writeUInt32BE(h.length, 5);
  return body.length ? [prefix, h, body] : [prefix, h];
}

/**
 * Incremental decoder: feed socket chunks, get whole, checked frames; throws on malformed or
 * oversized input and on a header its type does not allow (the connection must then close).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes and returns every frame now complete. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Frame[] = [];
    while (this.buffered >= 4) {
      const len = this.peekLength();
      if (len < 5 || len > MAX_FRAME_BYTES) {
        throw new SmrError(
          'frame-too-large',
          `frame of ${len} bytes is outside 5..${MAX_FRAME_BYTES}`,
        );
      }
      if (this.buffered < 4 + len) break;
      const { raw, owned } = this.take(4 + len);
      out.push(decodeBody(raw.subarray(4), owned));
    }
    return out;
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

function decodeBody(b: Buffer, owned: boolean): Frame {
  const type = b.readUInt8(0);
  const hlen = b.readUInt32BE(1);
  if (hlen > MAX_HEADER_BYTES || 5 + hlen > b.length) {
    throw new SmrError('protocol', `bad header length ${hlen} in frame of ${b.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(b.subarray(5, 5 + hlen).toString('utf8'));
  } catch {
    throw new SmrError('protocol', 'frame header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SmrError('protocol', 'frame header is not a JSON object');
  }
  const body = b.subarray(5 + hlen);
  return decodeFrame(type, header, owned ? body : Buffer.from(body));
}
