// The block-delta engine on real temp files: capture's changed blocks, the hierarchical mirror
// exchange (every rebuilt file must equal its source byte for byte, and send little where little
// changed), refusal of a basis that changed under the delta, and the signature wire format.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDelta,
  buildDelta,
  changedBlocks,
  coarseSignature,
  decodeCoarse,
  decodeFine,
  decodeMid,
  decodeRanges,
  encodeCoarse,
  encodeFine,
  encodeMid,
  encodeRanges,
  FileHasher,
  fineSignature,
  hashBlocks,
  initHash,
  localFetcher,
  midSignature,
  SIGNATURE_PART_BYTES,
  sha256File,
  shouldSendWhole,
  StreamBlockHasher,
  syncFileLocal,
  weakChecksum,
  type DeltaInstruction,
  type FineSignature,
} from '../../../src/delta/index.js';
import { Roller } from '../../../src/delta/rolling.js';
import { SmrError } from '../../../src/shared/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const B = 4 * KiB;
let dir: string;
let n = 0;

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function noise(len: number, seed: number): Buffer {
  const buf = Buffer.alloc(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

function flip(buf: Buffer, i: number, mask: number): void {
  buf[i] = buf[i]! ^ mask;
}

async function file(data: Buffer): Promise<string> {
  const p = path.join(dir, `f${n++}`);
  await fsp.writeFile(p, data);
  return p;
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Runs the whole exchange and checks the rebuilt file is the source, byte for byte.
async function roundTrip(basis: Buffer | undefined, source: Buffer) {
  const basisPath = basis ? await file(basis) : path.join(dir, `missing${n++}`);
  const sourcePath = await file(source);
  const outPath = path.join(dir, `out${n++}`);
  const stats = await syncFileLocal(basisPath, sourcePath, outPath);
  expect(stats.ok).toBe(true);
  const out = await fsp.readFile(outPath);
  expect(out.length).toBe(source.length);
  expect(out.equals(source)).toBe(true);
  expect(stats.sha256).toBe(sha(source));
  expect(stats.literalBytes + stats.copyBytes).toBe(source.length);
  return stats;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SmrError ? err.code : 'not-smr-error';
  }
  return undefined;
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-delta-'));
  await initHash();
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('hashing', () => {
  it('sha256File and FileHasher agree with node:crypto', async () => {
    const data = noise(5 * MiB + 123, 1);
    const p = await file(data);
    expect(await sha256File(p)).toBe(sha(data));
    const h = new FileHasher();
    h.update(data.subarray(0, 1000)).update(data.subarray(1000));
    expect(h.digest()).toBe(sha(data));
  });

  it('the rolling checksum equals the checksum computed afresh at every offset', () => {
    const data = noise(3000, 2);
    const len = 512;
    const r = new Roller(len);
    r.init(data, 0);
    for (let i = 0; i + len < data.length; i++) {
      expect(r.weak).toBe(weakChecksum(data, i, len));
      r.roll(data, i);
    }
  });
});

describe('hashBlocks and changedBlocks (capture)', () => {
  it('hashes every block, the short last one included, with the whole-file sha256', async () => {
    const data = noise(10 * B + 100, 3);
    const hb = await hashBlocks(await file(data), B);
    expect(hb.size).toBe(data.length);
    expect(hb.hashes.length).toBe(11);
    expect(hb.sha256).toBe(sha(data));
  });

  it('StreamBlockHasher fed in uneven pieces equals hashBlocks; so does a chunking pass fed to it', async () => {
    const data = noise(37 * 1024 + 123, 21);
    const want = await hashBlocks(await file(data), 16 * 1024);
    for (const piece of [1, 1000, 4096, 16 * 1024, 16 * 1024 + 1, 100_000]) {
      const h = new StreamBlockHasher(16 * 1024);
      for (let o = 0; o < data.length; o += piece) h.update(data.subarray(o, o + piece));
      expect(h.size).toBe(data.length);
      expect([...h.finish()], `pieces of ${piece}`).toEqual([...want.hashes]);
    }
    const big = noise(5 * 1024 * 1024 + 777, 22);
    const fed = new StreamBlockHasher(16 * 1024);
    const sig = await coarseSignature(await file(big), { sha256: true, blocks: fed });
    expect(sig.sha256).toBe(sha(big));
    expect([...fed.finish()]).toEqual([...(await hashBlocks(await file(big), 16 * 1024)).hashes]);
  });

  it('identical files have no changed ranges', async () => {
    const data = noise(8 * B, 4);
    const a = await hashBlocks(await file(data), B);
    const b = await hashBlocks(await file(data), B);
    expect(changedBlocks(a, b)).toEqual([]);
  });

  it('a change in the middle yields its block; adjacent changed blocks merge', async () => {
    const data = noise(16 * B, 5);
    const prev = await hashBlocks(await file(data), B);
    const next = Buffer.from(data);
    flip(next, 5 * B + 7, 1);
    flip(next, 9 * B - 1, 1); // last byte of block 8
    flip(next, 9 * B, 1); // first byte of block 9
    const ranges = changedBlocks(prev, await hashBlocks(await file(next), B));
    expect(ranges).toEqual([
      { offset: 5 * B, length: B },
      { offset: 8 * B, length: 2 * B },
    ]);
  });

  it('growth sends the old short last block and everything new', async () => {
    const data = noise(4 * B + 100, 6);
    const prev = await hashBlocks(await file(data), B);
    const grown = Buffer.concat([data, noise(2 * B, 7)]);
    const ranges = changedBlocks(prev, await hashBlocks(await file(grown), B));
    expect(ranges).toEqual([{ offset: 4 * B, length: grown.length - 4 * B }]);
  });

  it('shrinking sends no range for the cut part, only a block whose length changed', async () => {
    const data = noise(8 * B, 8);
    const prev = await hashBlocks(await file(data), B);
    const onBoundary = await hashBlocks(await file(data.subarray(0, 5 * B)), B);
    expect(changedBlocks(prev, onBoundary)).toEqual([]);
    const midBlock = await hashBlocks(await file(data.subarray(0, 5 * B + 10)), B);
    expect(changedBlocks(prev, midBlock)).toEqual([{ offset: 5 * B, length: 10 }]);
  });

  it('a new file or another block size is sent whole; an empty file has nothing to send', async () => {
    const data = noise(3 * B, 9);
    const p = await file(data);
    const next = await hashBlocks(p, B);
    expect(changedBlocks(undefined, next)).toEqual([{ offset: 0, length: data.length }]);
    expect(changedBlocks(await hashBlocks(p, 2 * B), next)).toEqual([
      { offset: 0, length: data.length },
    ]);
    expect(changedBlocks(undefined, await hashBlocks(await file(Buffer.alloc(0)), B))).toEqual([]);
  });
});

describe('delta round trips (syncFileLocal)', () => {
  const base = noise(4 * MiB, 10);

  it('identical: nothing literal', async () => {
    const s = await roundTrip(base, base);
    expect(s.literalBytes).toBe(0);
    expect(s.roundTrips).toBe(0);
  });

  it('identical with the target sha256: proven unchanged', async () => {
    const basisPath = await file(base);
    const sourcePath = await file(base);
    const s = await syncFileLocal(basisPath, sourcePath, path.join(dir, `out${n++}`), {
      targetSha256: true,
    });
    expect(s).toMatchObject({ ok: true, unchanged: true, literalBytes: 0, roundTrips: 0 });
  });

  it('missing basis and empty basis: everything literal', async () => {
    expect((await roundTrip(undefined, base)).literalBytes).toBe(base.length);
    expect((await roundTrip(Buffer.alloc(0), base)).literalBytes).toBe(base.length);
  });

  it('empty source', async () => {
    const s = await roundTrip(base, Buffer.alloc(0));
    expect(s.literalBytes + s.copyBytes).toBe(0);
  });

  it('truncated: at most one block literal', async () => {
    const s = await roundTrip(base, base.subarray(0, 3 * MiB + 5000));
    expect(s.literalBytes).toBeLessThanOrEqual(B);
  });

  it('extended: the new bytes plus at most one block', async () => {
    const extra = noise(100 * KiB, 11);
    const s = await roundTrip(base, Buffer.concat([base, extra]));
    expect(s.literalBytes).toBeLessThanOrEqual(extra.length + B);
  });

  it('bytes flipped in the middle: at most one block', async () => {
    const src = Buffer.from(base);
    for (let i = 0; i < 16; i++) flip(src, 2 * MiB + 100 + i, 0xff);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBeLessThanOrEqual(B);
  });

  it('3 scattered 4 KiB blocks rewritten: about 3 blocks literal, small signatures', async () => {
    const src = Buffer.from(base);
    for (const [i, blk] of [37, 500, 901].entries()) noise(B, 20 + i).copy(src, blk * B);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBeLessThanOrEqual(4 * B);
    // Fine signatures of the whole file would be 12 bytes per block.
    expect(s.signatureBytes).toBeLessThan((base.length / B) * 12);
  });

  it('same size, different content: everything literal', async () => {
    const src = noise(base.length, 12);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBe(src.length);
  });

  it('1000 bytes inserted near the start: about 1000 bytes + 2 blocks literal', async () => {
    const src = Buffer.concat([base.subarray(0, 5000), noise(1000, 13), base.subarray(5000)]);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBeLessThanOrEqual(1000 + 2 * B);
  });

  it('bytes deleted in the middle: at most 2 blocks literal', async () => {
    const src = Buffer.concat([base.subarray(0, 2 * MiB + 77), base.subarray(2 * MiB + 3077)]);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBeLessThanOrEqual(2 * B);
  });

  it('a large insertion shifts everything after it yet costs little more than itself', async () => {
    const inserted = noise(700 * KiB + 13, 14);
    const src = Buffer.concat([
      base.subarray(0, 100 * KiB + 7),
      inserted,
      base.subarray(100 * KiB + 7),
    ]);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBeLessThanOrEqual(inserted.length + 2 * B);
    expect(s.signatureBytes).toBeLessThan(8 * KiB);
  });

  it('blocks moved around and duplicated are found wherever they went', async () => {
    const a = base.subarray(0, MiB);
    const b = base.subarray(MiB, 2 * MiB);
    const c = base.subarray(2 * MiB);
    const s = await roundTrip(base, Buffer.concat([c, a, b, a.subarray(0, 300 * KiB)]));
    expect(s.literalBytes).toBeLessThanOrEqual(4 * B);
  });

  it('completely different, of another size', async () => {
    const src = noise(3 * MiB + 333, 15);
    const s = await roundTrip(base, src);
    expect(s.literalBytes).toBe(src.length);
  });

  it('small and odd-sized files', async () => {
    const small = noise(10_000, 16);
    const edited = Buffer.from(small);
    flip(edited, 9_999, 1);
    await roundTrip(small, edited);
    await roundTrip(small.subarray(0, 1), small.subarray(0, 2));
    await roundTrip(small.subarray(0, 2), small.subarray(0, 1));
  });

  it('literal data comes in chunks of at most 1 MiB', async () => {
    const basisPath = await file(Buffer.alloc(0));
    const sourcePath = await file(noise(3 * MiB + 5, 17));
    const plan = await buildDelta(sourcePath, await coarseSignature(basisPath), {
      mid: () => Promise.reject(new Error('not needed')),
      fine: () => Promise.reject(new Error('not needed')),
    });
    const sizes: number[] = [];
    for await (const ins of plan.instructions)
      if (ins.op === 'literal') sizes.push(ins.data.length);
    expect(sizes).toEqual([MiB, MiB, MiB, 5]);
  });
});

describe('applyDelta refuses to be wrong', () => {
  const base = noise(2 * MiB, 30);
  const edited = Buffer.from(base);
  flip(edited, MiB, 1);

  async function planAgainst(basisPath: string, sourcePath: string) {
    const coarse = await coarseSignature(basisPath);
    return buildDelta(sourcePath, coarse, localFetcher(basisPath, coarse, { n: 0 }));
  }

  it('a basis modified between signature and apply yields ok:false', async () => {
    const basisPath = await file(base);
    const plan = await planAgainst(basisPath, await file(edited));
    const fh = await fsp.open(basisPath, 'r+');
    await fh.write(Buffer.from([base[100]! ^ 1]), 0, 1, 100);
    await fh.close();
    const outPath = path.join(dir, `out${n++}`);
    const r = await applyDelta(basisPath, plan.instructions, outPath, plan.size, plan.sha256);
    expect(r.ok).toBe(false);
    expect(r.sha256).toBe(sha(await fsp.readFile(outPath)));
    expect(r.sha256).not.toBe(plan.sha256);
  });

  it('a basis truncated or removed before apply yields ok:false', async () => {
    for (const damage of ['truncate', 'remove'] as const) {
      const basisPath = await file(base);
      const plan = await planAgainst(basisPath, await file(edited));
      if (damage === 'truncate') await fsp.truncate(basisPath, 1000);
      else await fsp.rm(basisPath);
      const r = await applyDelta(
        basisPath,
        plan.instructions,
        path.join(dir, `out${n++}`),
        plan.size,
        plan.sha256,
      );
      expect(r.ok).toBe(false);
    }
  });

  it('a wrong expected hash yields ok:false even when the rebuild went fine', async () => {
    const basisPath = await file(base);
    const plan = await planAgainst(basisPath, await file(edited));
    const r = await applyDelta(
      basisPath,
      plan.instructions,
      path.join(dir, `out${n++}`),
      plan.size,
      sha(base),
    );
    expect(r).toMatchObject({ ok: false, sha256: plan.sha256, size: edited.length });
  });

  it('instructions that leave gaps, overlap or overrun are a protocol error', async () => {
    const basisPath = await file(base);
    const bad: DeltaInstruction[][] = [
      [{ op: 'literal', dstOffset: 10, data: Buffer.alloc(5) }],
      [
        { op: 'copy', srcOffset: 0, length: 10, dstOffset: 0 },
        { op: 'copy', srcOffset: 0, length: 10, dstOffset: 5 },
      ],
      [{ op: 'copy', srcOffset: 0, length: 100, dstOffset: 0 }],
      [{ op: 'copy', srcOffset: -1, length: 10, dstOffset: 0 }],
    ];
    for (const list of bad) {
      async function* gen() {
        yield* list;
      }
      await expect(
        applyDelta(basisPath, gen(), path.join(dir, `out${n++}`), 20, sha(Buffer.alloc(20))),
      ).rejects.toMatchObject({ code: 'protocol' });
    }
  });
});

describe('signature wire format', () => {
  it('coarse, mid, fine signatures and range requests survive encode/decode', async () => {
    const data = noise(3 * MiB, 40);
    const p = await file(data);
    const coarse = await coarseSignature(p, { sha256: true });
    const c2 = decodeCoarse(encodeCoarse(coarse));
    expect(c2.size).toBe(coarse.size);
    expect(c2.sha256).toBe(sha(data));
    expect([...c2.chunks.hashes]).toEqual([...coarse.chunks.hashes]);
    expect([...c2.chunks.offsets]).toEqual([...coarse.chunks.offsets]);

    const ranges = [{ offset: coarse.chunks.offsets[1]!, length: coarse.chunks.lengths[1]! }];
    expect(decodeRanges(encodeRanges(ranges))).toEqual(ranges);
    const mid = await midSignature(p, ranges);
    const cached = await midSignature(p, ranges, coarse);
    expect([...cached.chunks.hashes]).toEqual([...mid.chunks.hashes]);
    const m2 = decodeMid(encodeMid(mid));
    expect(m2.ranges).toEqual(ranges);
    expect([...m2.chunks.lengths]).toEqual([...mid.chunks.lengths]);

    const fine = await fineSignature(
      p,
      [
        { offset: 0, length: 3 * B + 5 },
        { offset: 3 * MiB - 10, length: 99 },
      ],
      B,
    );
    expect(fine.ranges).toEqual([
      { offset: 0, length: 3 * B + 5 },
      { offset: 3 * MiB - 10, length: 10 },
    ]);
    const f2 = decodeFine(encodeFine(fine));
    expect(f2.ranges).toEqual(fine.ranges);
    expect([...f2.weak]).toEqual([...fine.weak]);
    expect([...f2.strong]).toEqual([...fine.strong]);
    expect(fine.weak[1]).toBe(weakChecksum(data, B, B));
  });

  it('a signature larger than one frame is split into parts and joined again', () => {
    const blocks = Math.ceil(SIGNATURE_PART_BYTES / 12) + 1000;
    const sig: FineSignature = {
      blockSize: B,
      ranges: [{ offset: 0, length: blocks * B }],
      weak: new Uint32Array(blocks).map((_, i) => i),
      strong: new BigUint64Array(blocks).map((_, i) => BigInt(i) * 3n),
    };
    const parts = encodeFine(sig);
    expect(parts.length).toBe(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(16 * MiB);
    const back = decodeFine(parts);
    expect(back.weak[blocks - 1]).toBe(blocks - 1);
    expect(back.strong[blocks - 1]).toBe(BigInt(blocks - 1) * 3n);
    expect(codeOf(() => decodeFine([parts[1]!, parts[0]!]))).toBe('protocol');
    expect(codeOf(() => decodeFine([parts[0]!]))).toBe('protocol');
  });

  it('malformed input is a protocol error; another format version is a version mismatch', async () => {
    const p = await file(noise(MiB, 41));
    const [enc] = encodeCoarse(await coarseSignature(p));
    expect(codeOf(() => decodeCoarse(enc!.subarray(0, enc!.length - 3)))).toBe('protocol');
    expect(codeOf(() => decodeCoarse(Buffer.concat([enc!, Buffer.from([0])])))).toBe('protocol');
    expect(codeOf(() => decodeMid(enc!))).toBe('protocol');
    const other = Buffer.from(enc!);
    other[1] = 99;
    expect(codeOf(() => decodeCoarse(other))).toBe('version-mismatch');
    const [fine] = encodeFine(await fineSignature(p, [{ offset: 0, length: 2 * B }]));
    expect(codeOf(() => decodeFine(fine!.subarray(0, fine!.length - 12)))).toBe('protocol');
    expect(
      codeOf(() => decodeRanges(Buffer.from([4, 1, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0x0f]))),
    ).toBe('protocol');
  });
});

describe('shouldSendWhole', () => {
  it('sends whole without a basis, for tiny files, and when round trips cost more than bytes', () => {
    expect(shouldSendWhole(10 * MiB, undefined)).toBe(true);
    expect(shouldSendWhole(10 * MiB, 0)).toBe(true);
    expect(shouldSendWhole(10 * KiB, 10 * KiB)).toBe(true);
    expect(shouldSendWhole(10 * MiB, 10 * KiB)).toBe(true);
    expect(shouldSendWhole(10 * MiB, 9 * MiB)).toBe(false);
    // 50 ms at 100 MB/s: three round trips are worth 15 MB.
    expect(shouldSendWhole(10 * MiB, 10 * MiB, { rttMs: 50, bytesPerSecond: 100e6 })).toBe(true);
    expect(shouldSendWhole(10 * MiB, 10 * MiB, { rttMs: 1, bytesPerSecond: 100e6 })).toBe(false);
    expect(shouldSendWhole(100 * KiB, 100 * KiB, { minDeltaBytes: 1 * MiB })).toBe(true);
  });
});
