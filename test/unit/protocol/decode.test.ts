// The one validating decoder: what it accepts comes out typed and named, anything else is a
// protocol error (never another exception), whatever the bytes. Includes a small seeded fuzz of
// mutated valid frames that the fuzz harness of issue 17 can grow.
import { describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { decodeFrame } from '../../../src/protocol/decode.js';
import { FrameDecoder, encodeFrame } from '../../../src/protocol/frame.js';
import { MAX_PATH_BYTES } from '../../../src/protocol/limits.js';
import { MsgType, type MsgTypeCode, type WireHeaders } from '../../../src/protocol/messages.js';

const sha = 'ab'.repeat(32);

/** The code of what `fn` throws ('none' when it returns, 'not-smr' for any other exception). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (err) {
    return err instanceof SmrError ? err.code : `not-smr: ${String(err)}`;
  }
}

const op = (kind: string, meta: unknown, body = Buffer.alloc(0)) =>
  decodeFrame(MsgType.OP, { seq: 1, kind, meta }, body);

const bytes = <T extends MsgTypeCode>(type: T, header: WireHeaders[T], body?: Buffer) =>
  Buffer.concat(encodeFrame(type, header, body));

describe('decodeFrame', () => {
  it('names the wire tuples: write ranges, delta instructions, list entries, sums', () => {
    const w = op('write', { p: 'f', ranges: [[4096, 3]], end: true, size: 9 }, Buffer.from('abc'));
    expect(w.header).toMatchObject({
      kind: 'write',
      meta: { ranges: [{ offset: 4096, length: 3 }] },
    });
    const d = op(
      'delta',
      {
        p: 'f',
        first: true,
        ops: [
          ['c', 0, 9, 0],
          ['l', 9, 3],
        ],
      },
      Buffer.from('xyz'),
    );
    expect(d.header).toMatchObject({
      meta: {
        ops: [
          { op: 'copy', srcOffset: 0, length: 9, dstOffset: 0 },
          { op: 'literal', dstOffset: 9, length: 3 },
        ],
      },
    });
    const l = decodeFrame(
      MsgType.LIST_ITEMS,
      {
        reqId: 1,
        done: false,
        items: [
          ['a', 'l', 1, 1.5, 0o777, 'b'],
          ['d', 'd', 0, 2, 0o755],
        ],
      },
      Buffer.alloc(0),
    );
    expect(l.header).toMatchObject({
      items: [
        { path: 'a', type: 'symlink', size: 1, mtimeMs: 1.5, mode: 0o777, link: 'b' },
        { path: 'd', type: 'dir', size: 0, mtimeMs: 2, mode: 0o755 },
      ],
    });
    const r = decodeFrame(MsgType.REPLY, { reqId: 2, sums: [[5, sha], null] }, Buffer.alloc(0));
    expect(r.header).toEqual({ reqId: 2, sums: [{ size: 5, sha256: sha }, null] });
  });

  it('LIST: asks for special entries with a boolean, and nothing else', () => {
    const h = (header: object) => decodeFrame(MsgType.LIST, header, Buffer.alloc(0)).header;
    expect(h({ reqId: 1, specials: true })).toEqual({ reqId: 1, specials: true });
    expect(h({ reqId: 1 })).toEqual({ reqId: 1 });
    expect(codeOf(() => h({ reqId: 1, specials: 'yes' }))).toBe('protocol');
  });

  it('drops fields it does not know', () => {
    const f = decodeFrame(
      MsgType.ACK,
      { seq: 3, extra: 'x', __proto__: { evil: 1 } },
      Buffer.alloc(0),
    );
    expect(f.header).toEqual({ seq: 3 });
  });

  it('refuses fractions, negatives, strings and unsafe integers where integers belong', () => {
    const copies: unknown[] = [
      ['c', 0, 1.5, 0],
      ['c', -1, 1, 0],
      ['c', '0', 1, 0],
      ['c', 0, 2 ** 53, 0],
      ['l', 0.5, 0],
      ['x', 0, 0],
      ['c', 0],
      'c',
    ];
    for (const ins of copies)
      expect(
        codeOf(() => op('delta', { p: 'f', first: true, ops: [ins] })),
        JSON.stringify(ins),
      ).toBe('protocol');
    expect(codeOf(() => op('put', { p: 'f', off: 1.5, first: true }))).toBe('protocol');
    expect(codeOf(() => op('put', { p: 'f', first: true, end: true, size: -1 }))).toBe('protocol');
    expect(codeOf(() => op('mkdir', { p: 'd', mode: 0o10000 }))).toBe('protocol');
    expect(
      codeOf(() => decodeFrame(MsgType.OP, { seq: 0, kind: 'mark', meta: {} }, Buffer.alloc(0))),
    ).toBe('protocol');
    expect(codeOf(() => decodeFrame(MsgType.ACK, { seq: '1' }, Buffer.alloc(0)))).toBe('protocol');
  });

  it('refuses paths that are empty, too long, or carry NUL or broken characters', () => {
    for (const p of [
      '',
      'a\0b',
      'x'.repeat(MAX_PATH_BYTES + 1),
      'é'.repeat(MAX_PATH_BYTES / 2 + 1),
      'a\ud800b',
      7,
    ])
      expect(
        codeOf(() => op('delete', { p })),
        String(p).slice(0, 10),
      ).toBe('protocol');
    // What a path may name is the target's confinement, checked on disk: `..` passes here.
    expect(codeOf(() => op('delete', { p: '../x' }))).toBe('none');
  });

  it('carries names that are not UTF-8 as escaped bytes, and measures paths in bytes', () => {
    // Byte 0xff of a name is U+DCFF (surrogateescape); JSON carries it as `\udcff` both ways.
    const wire = bytes(MsgType.OP, { seq: 1, kind: 'delete', meta: { p: 'd\udce9/f\udcff' } });
    expect(wire.includes(Buffer.from('\\udcff'))).toBe(true);
    const [f] = new FrameDecoder().push(wire);
    expect(f?.header).toMatchObject({ kind: 'delete', meta: { p: 'd\udce9/f\udcff' } });
    // 4096 escaped bytes are 4096 bytes on disk (as text they would be 3 bytes each).
    expect(codeOf(() => op('delete', { p: '\udcff'.repeat(MAX_PATH_BYTES) }))).toBe('none');
    expect(codeOf(() => op('delete', { p: '\udcff'.repeat(MAX_PATH_BYTES + 1) }))).toBe('protocol');
    // A lone surrogate that stands for no byte is still refused.
    expect(codeOf(() => op('delete', { p: 'a\udc10' }))).toBe('protocol');
  });

  it("checks an ACK's report of what the target refused", () => {
    const ack = (h: object) => decodeFrame(MsgType.ACK, h, Buffer.alloc(0));
    expect(ack({ seq: 3, refused: { name: 1 }, names: ['f\udcff'] }).header).toEqual({
      seq: 3,
      refused: { name: 1 },
      names: ['f\udcff'],
    });
    expect(codeOf(() => ack({ seq: 3, refused: { name: -1 } }))).toBe('protocol');
    expect(codeOf(() => ack({ seq: 3, refused: [] }))).toBe('protocol');
    expect(codeOf(() => ack({ seq: 3, names: [''] }))).toBe('protocol');
  });

  it('refuses an op whose ranges or literals need more bytes than its body has', () => {
    expect(codeOf(() => op('write', { p: 'f', ranges: [[0, 4]] }, Buffer.from('abc')))).toBe(
      'protocol',
    );
    expect(
      codeOf(() => op('delta', { p: 'f', first: true, ops: [['l', 0, 4]] }, Buffer.from('abc'))),
    ).toBe('protocol');
  });

  it('refuses unknown kinds, frame types, requests, and headers that are not objects', () => {
    expect(codeOf(() => op('chmod', { p: 'f' }))).toBe('protocol');
    expect(codeOf(() => op('constructor', {}))).toBe('protocol');
    expect(codeOf(() => decodeFrame(99, {}, Buffer.alloc(0)))).toBe('protocol');
    expect(
      codeOf(() => decodeFrame(MsgType.REQUEST, { reqId: 1, op: 'rm', p: 'x' }, Buffer.alloc(0))),
    ).toBe('protocol');
    expect(
      codeOf(() =>
        decodeFrame(
          MsgType.REQUEST,
          { reqId: 1, op: 'sums', paths: Array(513).fill('a') },
          Buffer.alloc(0),
        ),
      ),
    ).toBe('protocol');
    expect(codeOf(() => decodeFrame(MsgType.PING, [1], Buffer.alloc(0)))).toBe('protocol');
    expect(
      codeOf(() =>
        decodeFrame(
          MsgType.LIST_ITEMS,
          { reqId: 1, done: true, items: [['a', 'x', 0, 0, 0]] },
          Buffer.alloc(0),
        ),
      ),
    ).toBe('protocol');
  });

  it('goes through the frame decoder: a bad header in a well-formed frame is a protocol error', () => {
    const good = bytes(MsgType.OP, { seq: 1, kind: 'mkdir', meta: { p: 'd', mode: 0o755 } });
    expect(new FrameDecoder().push(good)).toHaveLength(1);
    const bad = bytes(MsgType.OP, {
      seq: 1,
      kind: 'delta',
      meta: { p: 'f', first: true, ops: [['c', 0, 1.5, 0]] },
    });
    expect(codeOf(() => new FrameDecoder().push(bad))).toBe('protocol');
  });
});

/** xorshift32: the same mutations every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('mutated valid frames (a seeded fuzz)', () => {
  const seeds: Array<[number, unknown, Buffer]> = [
    [
      MsgType.OP,
      {
        seq: 5,
        kind: 'put',
        meta: { p: 'a/b', off: 0, first: true, end: true, size: 3, mode: 420, mtime: 1.5 },
      },
      Buffer.from('abc'),
    ],
    [
      MsgType.OP,
      {
        seq: 6,
        kind: 'write',
        meta: {
          p: 'a',
          ranges: [
            [0, 2],
            [8, 1],
          ],
          end: true,
          size: 9,
          sha256: sha,
        },
      },
      Buffer.from('abc'),
    ],
    [
      MsgType.OP,
      {
        seq: 7,
        kind: 'delta',
        meta: {
          p: 'a',
          tx: 3,
          ops: [
            ['c', 0, 9, 0],
            ['l', 9, 2],
          ],
          end: true,
          size: 11,
          sha256: sha,
        },
      },
      Buffer.from('xy'),
    ],
    [
      MsgType.OP,
      {
        seq: 8,
        kind: 'task',
        meta: { id: 't1', on: 'execute', command: 'snap.sh', args: ['-k', '3'], timeoutMs: 1000 },
      },
      Buffer.alloc(0),
    ],
    [MsgType.OP, { seq: 9, kind: 'rename', meta: { from: 'a', to: 'b' } }, Buffer.alloc(0)],
    [MsgType.OP, { seq: 10, kind: 'link', meta: { p: 'c', from: 'b' } }, Buffer.alloc(0)],
    [
      MsgType.OP,
      { seq: 11, kind: 'mknod', meta: { p: 'd', type: 'char', mode: 0o600, rdev: [5, 0] } },
      Buffer.alloc(0),
    ],
    [
      MsgType.LIST_ITEMS,
      {
        reqId: 1,
        done: true,
        seq: 4,
        items: [
          ['a', 'f', 1, 2, 420],
          ['l', 'l', 1, 2, 511, 'a'],
        ],
      },
      Buffer.alloc(0),
    ],
    [MsgType.REQUEST, { reqId: 3, op: 'fine', p: 'a', blockSize: 4096 }, Buffer.alloc(0)],
    [
      MsgType.REPLY,
      { reqId: 3, exists: true, size: 10, blockSize: 4096, sha256: sha },
      Buffer.alloc(8),
    ],
    [
      MsgType.EVENT,
      {
        type: 'task',
        id: 't1',
        state: 'failed',
        exitCode: 2,
        startedAt: 'x',
        endedAt: 'y',
        durationMs: 5,
        outputTail: ['a'],
      },
      Buffer.alloc(0),
    ],
    [
      MsgType.OPEN,
      { connection: 'web', targetPath: 'web', epoch: 7, sourceId: 's' },
      Buffer.alloc(0),
    ],
    [
      MsgType.FAULT,
      { code: 'ENOSPC', seq: 12, message: 'no space left on /srv/replica/web' },
      Buffer.alloc(0),
    ],
  ];
  const odd: unknown[] = [
    -1,
    0.5,
    2 ** 53,
    '',
    'x',
    null,
    true,
    [],
    {},
    [1, 2],
    'a\0',
    '../..',
    1e300,
    -0,
  ];

  /** Replaces one value somewhere inside `v` (a deep copy) with an odd one. */
  function mutate(v: unknown, rnd: () => number): unknown {
    if (Array.isArray(v) || (typeof v === 'object' && v !== null)) {
      const copy: Record<string, unknown> | unknown[] = Array.isArray(v)
        ? [...v]
        : { ...(v as object) };
      const keys = Object.keys(copy);
      if (keys.length === 0 || rnd() < 0.1) return odd[Math.floor(rnd() * odd.length)];
      const k = keys[Math.floor(rnd() * keys.length)] as string;
      const r = copy as Record<string, unknown>;
      if (rnd() < 0.1) delete r[k];
      else r[k] = mutate(r[k], rnd);
      return copy;
    }
    return odd[Math.floor(rnd() * odd.length)];
  }

  it('every mutation decodes or is a protocol error; nothing else escapes', () => {
    const rnd = prng(17);
    for (const [type, header, body] of seeds)
      expect(
        codeOf(() => decodeFrame(type, header, body)),
        JSON.stringify(header),
      ).toBe('none');
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const [type, header, body] = seeds[i % seeds.length] as [number, unknown, Buffer];
      const code = codeOf(() => decodeFrame(type, mutate(header, rnd), body));
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect([...outcomes.keys()].sort()).toEqual(['none', 'protocol']);
  });

  it('random bytes into the frame decoder: frames or SmrErrors, nothing else', () => {
    const rnd = prng(9);
    for (let i = 0; i < 2000; i++) {
      const [type, header, body] = seeds[i % seeds.length] as [MsgTypeCode, never, Buffer];
      const buf = bytes(type, header, body);
      for (let k = 0; k < 3; k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
      const code = codeOf(() => new FrameDecoder().push(buf));
      expect(['none', 'protocol', 'frame-too-large']).toContain(code);
    }
  });
});
