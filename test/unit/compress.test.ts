// Compression on the link: round trips, the sample that leaves incompressible data raw, and
// decompression that never expands past the size a frame declares (a "zip bomb" is refused).
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SmrError } from '../../src/shared/errors.js';
import { codecByName, compressPayload } from '../../src/protocol/compress.js';
import { FrameDecoder, encodeFrame } from '../../src/protocol/frame.js';
import { MsgType } from '../../src/protocol/messages.js';
import { zstdDecompress } from '../../src/protocol/zstd.js';
import { lz4Decompress } from '../../src/protocol/lz4.js';

const text = Buffer.from('2026-12-05 INFO GET /api/items/42 200 3ms\n'.repeat(50_000));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SmrError ? err.code : 'not-smr-error';
  }
  return undefined;
}

describe('compression', () => {
  for (const name of ['zstd', 'lz4']) {
    it(`${name}: frames round-trip, compressed only when it pays`, () => {
      const codec = codecByName(name);
      const dec = new FrameDecoder(undefined, new Set([codec?.id ?? 0]));
      const parts = encodeFrame(MsgType.ACK, { seq: 1 }, text, codec);
      const wire = Buffer.concat(parts);
      expect(wire.length).toBeLessThan(text.length * 0.4);
      const [f] = dec.push(wire);
      expect(f?.header).toEqual({ seq: 1 });
      expect(f?.body.equals(text)).toBe(true);
      // Random data goes raw (the frame is the plain encoding, a few bytes over the body).
      const random = crypto.randomBytes(1024 * 1024);
      const raw = Buffer.concat(encodeFrame(MsgType.ACK, { seq: 2 }, random, codec));
      expect(raw.length).toBeLessThan(random.length + 64);
      expect(dec.push(raw)[0]?.body.equals(random)).toBe(true);
      // Small frames are never worth it.
      expect(compressPayload(codec as NonNullable<typeof codec>, [Buffer.from('{}')])).toBeNull();
    });
  }

  it('a receiver that did not agree on a codec refuses its frames', () => {
    const wire = Buffer.concat(encodeFrame(MsgType.ACK, { seq: 3 }, text, codecByName('zstd')));
    expect(codeOf(() => new FrameDecoder().push(wire))).toBe('protocol');
    expect(codeOf(() => new FrameDecoder(undefined, new Set([2])).push(wire))).toBe('protocol');
  });

  it('refuses a zstd frame that would expand past its declared size', () => {
    // magic, frame header (no content size, window descriptor), then RLE blocks of 128 KiB each.
    const blocks: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const h = ((128 * 1024) << 3) | (1 << 1) | (i === 199 ? 1 : 0);
      blocks.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x41]));
    }
    const bomb = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]), ...blocks]);
    expect(bomb.length).toBeLessThan(1000); // 25 MiB of "A" in under 1 KB
    expect(() => zstdDecompress(bomb, 1000)).toThrow(/expand past its declared size/);
    const frame = codecByName('zstd')?.compress(text) as Buffer;
    expect(codeOf(() => zstdDecompress(frame, text.length - 1))).toBe('protocol');
    expect(zstdDecompress(frame, text.length).equals(text)).toBe(true);
  });

  it('takes a compressible part that zstd cuts into small blocks', () => {
    // Like a database: 4 KiB pages, a little data each and zeros. zstd cuts 1 MiB of it into ~16
    // blocks, which a bound of 128 KiB per block against the part's size refused.
    const part = Buffer.alloc(1024 * 1024);
    for (let off = 0; off < part.length; off += 4096) crypto.randomBytes(300).copy(part, off);
    const frame = codecByName('zstd')?.compress(part) as Buffer;
    expect(zstdDecompress(frame, part.length).equals(part)).toBe(true);
    expect(codeOf(() => zstdDecompress(frame, part.length - 1))).toBe('protocol');
  });

  it('refuses an lz4 block whose size is not the declared one', () => {
    const block = codecByName('lz4')?.compress(text) as Buffer;
    expect(codeOf(() => lz4Decompress(block, 1000))).toBe('protocol');
    expect(lz4Decompress(block, text.length).equals(text)).toBe(true);
  });
});
