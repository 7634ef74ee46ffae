// Frames a hostile but keyed source sends: ops the decoder accepts with values meant to hurt the
// target (escapes, limits, bad deltas, bad task markers), requests and listings, and frames meant
// to be refused (odd JSON, damaged bytes, unknown types, compressed frames gone wrong).
import type { Rng } from '../lib/rng.js';
import { T, compressedFrame, frame, rawFrame, zstdBomb, type CodecName } from './wire.js';
import * as V from './values.js';

/** A body of `n` bytes: seeded random, repeated beyond 64 KiB (it need not be unique). */
function body(rng: Rng, n: number): Buffer {
  if (n <= 65_536) return rng.bytes(n);
  const block = rng.bytes(65_536);
  const b = Buffer.allocUnsafe(n);
  for (let at = 0; at < n; at += block.length) block.copy(b, at, 0, Math.min(block.length, n - at));
  return b;
}

/** A body length: mostly small, sometimes a full chunk, rarely the largest a frame may carry. */
function bodyLength(rng: Rng): number {
  const r = rng.next();
  if (r < 0.75) return rng.int(4096);
  if (r < 0.95) return rng.int(256 * 1024);
  if (r < 0.99) return 1 << 20;
  return 8 * 1024 * 1024;
}

/** The meta of one op kind, plausible in shape, hostile in content. */
function meta(rng: Rng, kind: string, bodyLen: number): Record<string, unknown> {
  const p = V.path(rng);
  const end = rng.chance(0.7);
  const fileEnd = end
    ? {
        end: true,
        size: V.extent(rng),
        mode: V.mode(rng),
        mtime: V.mtime(rng),
        ...(rng.chance(0.4) ? { sha256: V.sha(rng) } : {}),
      }
    : {};
  switch (kind) {
    case 'put':
      return rng.chance(0.6)
        ? { p, off: 0, first: true, ...fileEnd }
        : { p, tx: rng.chance(0.5) ? rng.int(50) : V.extent(rng), off: V.extent(rng), ...fileEnd };
    case 'write': {
      const ranges: Array<[number, number]> = [];
      let left = bodyLen;
      for (let i = rng.range(0, 5); i > 0 && left > 0; i--) {
        const len = rng.int(left + 1);
        ranges.push([V.extent(rng), len]);
        left -= len;
      }
      return { p, ranges, ...fileEnd };
    }
    case 'delta': {
      const ops: Array<[string, number, number, number?]> = [];
      let left = bodyLen;
      for (let i = rng.range(0, 8); i > 0; i--) {
        if (rng.chance(0.5) && left > 0) {
          const len = rng.int(left + 1);
          ops.push(['l', V.extent(rng), len]);
          left -= len;
        } else ops.push(['c', V.extent(rng), V.extent(rng), V.extent(rng)]);
      }
      const part = rng.chance(0.5) ? { first: true } : { tx: rng.int(100) };
      return { p, ops, ...part, ...fileEnd, ...(end ? { sha256: V.sha(rng) } : {}) };
    }
    case 'mkdir':
      return { p, mode: V.mode(rng) };
    case 'delete':
    case 'rmdir':
      return { p };
    case 'rename':
      return { from: p, to: V.path(rng) };
    case 'attr':
      return {
        p,
        ...(rng.chance(0.7) ? { mode: V.mode(rng) } : {}),
        ...(rng.chance(0.7) ? { mtime: V.mtime(rng) } : {}),
      };
    case 'symlink':
      return { p, target: rng.pick(V.LINK_TARGETS), mtime: V.mtime(rng) };
    case 'task':
      return {
        id: rng.chance(0.8) ? `t${rng.int(1000)}` : rng.pick(['', '../x', 'x'.repeat(128), '\n']),
        on: rng.pick(['execute', 'receive', 'queue', 'transmit']),
        command: rng.pick(V.COMMANDS),
        args: rng.chance(0.8)
          ? ['-x', '../../etc/passwd', '$(id)']
          : Array.from({ length: 1024 }, () => 'a'),
        timeoutMs: rng.pick([0, 1, 100, 2000, 600_000]),
      };
    default:
      return { note: 'a mark', n: rng.int(10) };
  }
}

const KINDS = [
  'put',
  'write',
  'delta',
  'mkdir',
  'delete',
  'rmdir',
  'rename',
  'attr',
  'symlink',
  'task',
  'mark',
];

/** An OP frame the decoder accepts (at seq `seq`) whose op is hostile to the target. */
export function hostileOp(rng: Rng, seq: number, codec: CodecName | 'none'): Buffer {
  const kind = rng.pick(KINDS);
  const len = ['put', 'write', 'delta'].includes(kind) ? bodyLength(rng) : rng.chance(0.9) ? 0 : 64;
  const m = meta(rng, kind, len);
  const b = body(rng, len);
  const header = { seq, kind, meta: m };
  return codec !== 'none' && rng.chance(0.3)
    ? compressedFrame(T.OP, header, b, codec)
    : frame(T.OP, header, b);
}

/**
 * A flood op: 8 MiB of data, sent as fast as the socket takes it, with no regard for acks (a
 * source keeps 8 MiB in flight at most): raw, or as a zstd bomb of a few hundred bytes.
 */
export function floodOp(rng: Rng, seq: number, codec: CodecName | 'none'): Buffer {
  const size = 8 * 1024 * 1024 - 1024;
  const header = {
    seq,
    kind: 'put',
    meta: { p: `flood${seq % 4}`, off: 0, first: true, end: true, size },
  };
  if (codec === 'zstd') return zstdBomb(header, size);
  return frame(T.OP, header, body(rng, size));
}

/** A REQUEST the decoder accepts (mostly), about hostile paths with odd block sizes and ranges. */
export function request(rng: Rng, reqId: number): Buffer {
  const op = rng.pick(['blocks', 'sums', 'coarse', 'mid', 'fine']);
  const p = V.path(rng);
  const blockSize = rng.pick([512, 4096, 65_536, 1 << 20, 1 << 30]);
  const h: Record<string, unknown> =
    op === 'sums'
      ? { reqId, op, paths: Array.from({ length: rng.pick([1, 5, 512]) }, () => V.path(rng)) }
      : {
          reqId,
          op,
          p,
          ...(op === 'fine' || rng.chance(0.3) ? { blockSize } : {}),
          ...(op === 'coarse' ? { sha256: rng.chance(0.5) } : {}),
        };
  // mid and fine read encoded ranges from the body: garbage, or counts and ranges that lie.
  const b = op === 'mid' || op === 'fine' ? rangesBody(rng) : Buffer.alloc(0);
  return frame(T.REQUEST, h, b);
}

/** An encoded range request (docs/DELTA.md): part header, count, (gap, length) varints. */
function rangesBody(rng: Rng): Buffer {
  if (rng.chance(0.2)) return rng.bytes(rng.int(64));
  const out: number[] = [4, 1, 0, 0, 1, 0]; // kind ranges, format 1, part 0 of 1
  const varint = (v: number): void => {
    for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
    out.push(v);
  };
  const n = rng.pick([1, 2, 3, 32, 1000]);
  varint(rng.chance(0.9) ? n : rng.pick([0, n + 1, 2 ** 22 + 1]));
  for (let i = 0; i < n; i++) {
    varint(rng.chance(0.7) ? rng.int(8192) : V.extent(rng));
    varint(rng.chance(0.7) ? rng.range(1, 65_536) : Math.max(1, V.extent(rng)));
  }
  const b = Buffer.from(out);
  return rng.chance(0.1) ? V.mutateBytes(b, rng) : b;
}

/** A frame meant to be refused: odd JSON in a real frame, damaged bytes, an unknown type. */
export function refusedFrame(rng: Rng, seq: number, codec: CodecName | 'none'): Buffer {
  const valid = hostileOpHeader(rng, seq);
  switch (rng.int(6)) {
    case 0:
      return frame(
        T.OP,
        rng.chance(0.1) ? { ...valid, meta: { p: 'a/'.repeat(2049) } } : V.mutateJson(valid, rng),
        Buffer.alloc(rng.int(64)),
      );
    case 1:
      return V.mutateBytes(frame(T.OP, valid, Buffer.alloc(16)), rng);
    case 2:
      return frame(rng.pick([0, 6, 9, 23, 99, 127]), { seq }, Buffer.alloc(0));
    case 3:
      return rawFrame(T.OP, rng.bytes(rng.int(64)), Buffer.alloc(0));
    case 4: {
      const c = codec === 'none' ? rng.pick(['zstd', 'lz4'] as const) : codec;
      return V.mutateBytes(compressedFrame(T.OP, valid, Buffer.alloc(600, 7), c), rng);
    }
    default:
      return frame(
        rng.pick([T.REQUEST, T.LIST, T.PING, T.OPEN, T.HELLO, T.ACK]),
        V.mutateJson({ reqId: 1, op: 'sums', paths: ['a'] }, rng),
      );
  }
}

function hostileOpHeader(rng: Rng, seq: number): Record<string, unknown> {
  const kind = rng.pick(KINDS);
  return { seq, kind, meta: meta(rng, kind, 16) };
}
