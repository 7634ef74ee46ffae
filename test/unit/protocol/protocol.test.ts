// The wire layer on its own: frame encoding/decoding and its limits, and wire-path validation
// (test/unit/channel.test.ts has the preamble, TLS and handshake over loopback).
import { describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { FrameDecoder, encodeFrame } from '../../../src/protocol/frame.js';
import { MAX_BODY_BYTES, MAX_FRAME_BYTES, MAX_HEADER_BYTES } from '../../../src/protocol/limits.js';
import {
  MsgType,
  type Frame,
  type MsgTypeCode,
  type WireHeaders,
} from '../../../src/protocol/messages.js';
import { splitSafeRelPath } from '../../../src/protocol/paths.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SmrError ? err.code : 'not-smr-error';
  }
  return undefined;
}

const frameBytes = <T extends MsgTypeCode>(type: T, header: WireHeaders[T], body?: Buffer) =>
  Buffer.concat(encodeFrame(type, header, body));

/** A raw frame: u32 length | u8 type | u32 header length | header bytes (no validation). */
function rawFrame(type: number, headerLen: number, header: Buffer, body = Buffer.alloc(0)) {
  const b = Buffer.alloc(9);
  b.writeUInt32BE(5 + header.length + body.length, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32BE(headerLen, 5);
  return Buffer.concat([b, header, body]);
}

describe('frames', () => {
  it('round-trips a frame with a body and one without', () => {
    const body = Buffer.from('hello body');
    const header = { seq: 7, kind: 'put', meta: { p: 'f', off: 0, first: true } };
    const [a] = new FrameDecoder().push(frameBytes(MsgType.OP, header, body));
    expect(a).toEqual({ type: MsgType.OP, header, body });
    const [b] = new FrameDecoder().push(frameBytes(MsgType.PING, {}));
    expect(b?.type).toBe(MsgType.PING);
    expect(b?.header).toEqual({});
    expect(b?.body.length).toBe(0);
  });

  it('reassembles a frame split at every byte boundary', () => {
    const buf = frameBytes(MsgType.NEED, { p: 'dir/ü', seq: 42 }, Buffer.from([1, 2, 3, 4]));
    for (let i = 0; i <= buf.length; i++) {
      const d = new FrameDecoder();
      const out = [...d.push(buf.subarray(0, i)), ...d.push(buf.subarray(i))];
      expect(out).toHaveLength(1);
      expect(out[0]?.header).toEqual({ p: 'dir/ü', seq: 42 });
      expect([...(out[0]?.body ?? [])]).toEqual([1, 2, 3, 4]);
    }
    const d = new FrameDecoder();
    const out: Frame[] = [];
    for (const byte of buf) out.push(...d.push(Buffer.from([byte])));
    expect(out).toHaveLength(1);
  });

  it('decodes several frames from one chunk, and keeps a trailing partial one', () => {
    const frames = [1, 2, 3].map((n) => frameBytes(MsgType.ACK, { seq: n }, Buffer.alloc(n, n)));
    const next = frameBytes(MsgType.ACK, { seq: 4 });
    const d = new FrameDecoder();
    const seqs = (fs: Frame[]) => fs.map((f) => (f.type === MsgType.ACK ? f.header.seq : -1));
    const out = d.push(Buffer.concat([...frames, next.subarray(0, 6)]));
    expect(seqs(out)).toEqual([1, 2, 3]);
    expect(out.map((f) => f.body.length)).toEqual([1, 2, 3]);
    expect(seqs(d.push(next.subarray(6)))).toEqual([4]);
  });

  it('copies the body out of the socket chunk', () => {
    const chunk = frameBytes(MsgType.PING, {}, Buffer.from('abc'));
    const [f] = new FrameDecoder().push(chunk);
    chunk.fill(0);
    expect(f?.body.toString()).toBe('abc');
  });

  it('refuses a length below 5 or above MAX_FRAME_BYTES as frame-too-large', () => {
    for (const len of [0, 4, MAX_FRAME_BYTES + 1, 0xffffffff]) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(len >>> 0, 0);
      expect(codeOf(() => new FrameDecoder().push(b))).toBe('frame-too-large');
    }
    // The largest legal length is accepted while it is still arriving.
    const b = Buffer.alloc(4);
    b.writeUInt32BE(MAX_FRAME_BYTES, 0);
    expect(new FrameDecoder().push(b)).toEqual([]);
  });

  it('refuses a header length reaching beyond the frame as protocol', () => {
    expect(codeOf(() => new FrameDecoder().push(rawFrame(1, 100, Buffer.from('{}'))))).toBe(
      'protocol',
    );
  });

  it('refuses headers that are not JSON objects as protocol', () => {
    for (const text of ['not json', '[1,2]', '42', 'null', '"str"', '{"a":']) {
      const h = Buffer.from(text);
      expect(
        codeOf(() => new FrameDecoder().push(rawFrame(1, h.length, h))),
        text,
      ).toBe('protocol');
    }
  });

  it('refuses to encode an oversized header or body', () => {
    const huge = { code: 'x', message: 'x'.repeat(MAX_HEADER_BYTES) };
    expect(codeOf(() => encodeFrame(MsgType.REFUSED, huge))).toBe('frame-too-large');
    expect(codeOf(() => encodeFrame(MsgType.HELLO, {}, Buffer.alloc(MAX_BODY_BYTES + 1)))).toBe(
      'frame-too-large',
    );
    const big = frameBytes(MsgType.HELLO, {}, Buffer.alloc(MAX_BODY_BYTES, 7));
    expect(new FrameDecoder().push(big)[0]?.body.length).toBe(MAX_BODY_BYTES);
  });
});

describe('splitSafeRelPath', () => {
  it('accepts plain relative paths', () => {
    expect(splitSafeRelPath('a')).toEqual(['a']);
    expect(splitSafeRelPath('a/b c/ü')).toEqual(['a', 'b c', 'ü']);
    expect(splitSafeRelPath('.hidden/x..y')).toEqual(['.hidden', 'x..y']);
  });

  it('refuses empty, absolute, dot, empty-component and NUL paths', () => {
    for (const p of ['', '/abs', '..', '.', 'a/../b', 'a//b', './a', 'a/', 'a\0b', 42, null]) {
      expect(
        codeOf(() => splitSafeRelPath(p)),
        String(p),
      ).toBe('path-refused');
    }
  });

  it('enforces the path and component byte limits', () => {
    const comps = [...Array<string>(15).fill('x'.repeat(255)), 'y'.repeat(200), 'z'.repeat(55)];
    const p4096 = comps.join('/');
    expect(Buffer.byteLength(p4096)).toBe(4096);
    expect(splitSafeRelPath(p4096)).toHaveLength(17);
    expect(codeOf(() => splitSafeRelPath(p4096 + 'z'))).toBe('path-refused');
    expect(splitSafeRelPath('x'.repeat(255))).toHaveLength(1);
    expect(codeOf(() => splitSafeRelPath('a/' + 'x'.repeat(256)))).toBe('path-refused');
    // The limit is in UTF-8 bytes, not characters.
    expect(codeOf(() => splitSafeRelPath('ü'.repeat(128)))).toBe('path-refused');
  });
});
