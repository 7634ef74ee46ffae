// The one delta applier, part by part as the target uses it: a rebuild over several parts proven
// from the hash taken while writing, or by reading back (out of order, or after a restart), and
// every way it refuses to leave a wrong file.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as hash from '../../../src/delta/hash.js';
import {
  applyDeltaPart,
  Rebuilds,
  type DeltaInstruction,
  type PartOptions,
} from '../../../src/delta/index.js';

let dir: string;
let n = 0;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-patch-'));
});
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

async function basis(text: string): Promise<{ basisPath: string; outPath: string }> {
  const basisPath = path.join(dir, `b${n}`);
  await fsp.writeFile(basisPath, text);
  return { basisPath, outPath: path.join(dir, `out${n++}`) };
}

const copy = (srcOffset: number, length: number, dstOffset: number): DeltaInstruction => ({
  op: 'copy',
  srcOffset,
  length,
  dstOffset,
});
const lit = (dstOffset: number, text: string): DeltaInstruction => ({
  op: 'literal',
  dstOffset,
  data: Buffer.from(text),
});

const want = 'original XYZtent';
const end = { size: want.length, sha256: sha(want) };

describe('applyDeltaPart', () => {
  it('rebuilds over two parts, proven from the hash taken while writing (no read back)', async () => {
    const files = await basis('original content');
    const rebuilds = new Rebuilds();
    const readBack = vi.spyOn(hash, 'sha256File');
    const part = (o: Partial<PartOptions>) => ({ ...files, first: false, ...o });
    expect(await applyDeltaPart([copy(0, 9, 0)], part({ first: true }), rebuilds)).toEqual({
      state: 'partial',
    });
    const r = await applyDeltaPart([lit(9, 'XYZ'), copy(12, 4, 12)], part({ end }), rebuilds);
    expect(r).toEqual({ state: 'done', ok: true, sha256: end.sha256, size: end.size });
    expect(await fsp.readFile(files.outPath, 'utf8')).toBe(want);
    expect(readBack).not.toHaveBeenCalled();
    readBack.mockRestore();
  });

  it('proves by reading back when the bytes came out of order, or the part has no state', async () => {
    const a = await basis('original content');
    const outOfOrder = [copy(12, 4, 12), lit(9, 'XYZ'), copy(0, 9, 0)];
    expect(await applyDeltaPart(outOfOrder, { ...a, first: true, end })).toMatchObject({
      state: 'done',
      ok: true,
    });
    const b = await basis('original content');
    await applyDeltaPart([copy(0, 9, 0)], { ...b, first: true }, new Rebuilds());
    // As after a target restart: a fresh Rebuilds knows nothing of the first part.
    const r = await applyDeltaPart([lit(9, 'XYZ'), copy(12, 4, 12)], { ...b, first: false, end });
    expect(r).toMatchObject({ state: 'done', ok: true });
    expect(await fsp.readFile(b.outPath, 'utf8')).toBe(want);
  });

  it('a wrong proof, a missing or short basis, a lost temp file: never ok', async () => {
    const a = await basis('original content');
    const wrong = { size: want.length, sha256: sha('something else') };
    expect(
      await applyDeltaPart([copy(0, 9, 0), lit(9, 'XYZ'), copy(12, 4, 12)], {
        ...a,
        first: true,
        end: wrong,
      }),
    ).toMatchObject({ state: 'done', ok: false, sha256: end.sha256 });
    const b = await basis('short');
    expect(await applyDeltaPart([copy(0, 9, 0)], { ...b, first: true, end })).toEqual({
      state: 'no-basis',
    });
    const c = await basis('x');
    await fsp.rm(c.basisPath);
    expect(await applyDeltaPart([copy(0, 1, 0)], { ...c, first: true, end })).toEqual({
      state: 'no-basis',
    });
    const d = await basis('original content');
    expect(await applyDeltaPart([lit(9, 'XYZ')], { ...d, first: false, end })).toEqual({
      state: 'no-output',
    });
  });

  it('never writes through a symlink planted at the output path', async () => {
    const a = await basis('original content');
    const victim = path.join(dir, `victim${n++}`);
    await fsp.writeFile(victim, 'keep');
    await fsp.symlink(victim, a.outPath);
    await expect(applyDeltaPart([lit(0, 'x')], { ...a, first: false })).rejects.toBeTruthy();
    expect(await fsp.readFile(victim, 'utf8')).toBe('keep');
  });
});

describe('applyDeltaPart on sparse data', () => {
  it('leaves all-zero blocks as holes (rsync -S), from literals and basis copies alike', async () => {
    const MiB = 1024 * 1024;
    const data = Buffer.alloc(4 * MiB);
    data.fill(7, 0, 4096 + 100); // a block and a bit of data, the rest of that block zeros
    data.fill(9, 3 * MiB, 3 * MiB + 4096);
    const basisPath = path.join(dir, `b${n}`);
    const outPath = path.join(dir, `out${n++}`);
    await fsp.writeFile(basisPath, data);
    const whole = { size: data.length, sha256: sha(data) };
    // First half as one literal (1 MiB of it zeros), second half copied from the basis.
    const r = await applyDeltaPart(
      [
        { op: 'literal', dstOffset: 0, data: data.subarray(0, 2 * MiB) },
        copy(2 * MiB, 2 * MiB, 2 * MiB),
      ],
      { basisPath, outPath, first: true, end: whole },
    );
    expect(r).toEqual({ state: 'done', ok: true, sha256: whole.sha256, size: whole.size });
    expect((await fsp.readFile(outPath)).equals(data)).toBe(true);
    const st = await fsp.stat(outPath);
    // Two data blocks (and what the filesystem adds for its own bookkeeping), not 4 MiB.
    expect(st.blocks * 512).toBeLessThan(64 * 1024);
  });
});
