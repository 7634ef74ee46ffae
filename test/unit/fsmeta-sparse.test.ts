// fsmeta sparse files: extents come from SEEK_DATA/SEEK_HOLE, and a copy written through
// SparseWriter keeps the holes (allocated size checked with stat.blocks, as du does).
import { closeSync, openSync, promises as fsp, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extents, SparseWriter, type Extent } from '../../src/fsmeta/index.js';
import { removeTmpDirs, run, tmpDir } from './fsmeta-tools.js';

afterEach(removeTmpDirs);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

// A 1 GiB file with three 64 KiB data runs, one at the very end.
function makeSparse(p: string): number[] {
  const at = [0, 300 * MiB, GiB - 64 * 1024];
  const fd = openSync(p, 'w');
  for (const off of at) writeSync(fd, Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, off);
  closeSync(fd);
  return at;
}

async function copyThrough(src: string, dst: string, inPlace = false): Promise<Extent[]> {
  const size = statSync(src).size;
  const s = await fsp.open(src, 'r');
  const d = await fsp.open(dst, inPlace ? 'r+' : 'w');
  const seen: Extent[] = [];
  try {
    const w = new SparseWriter(d, { inPlace });
    for (const e of extents(s.fd, size)) {
      seen.push(e);
      if (e.hole) continue;
      for (let off = e.offset; off < e.offset + e.length; off += MiB) {
        const len = Math.min(MiB, e.offset + e.length - off);
        const { buffer, bytesRead } = await s.read(Buffer.alloc(len), 0, len, off);
        await w.write(buffer.subarray(0, bytesRead), off);
      }
    }
    await w.finish(size);
  } finally {
    await s.close();
    await d.close();
  }
  return seen;
}

describe('sparse files', () => {
  it('finds the data runs and holes of a 1 GiB sparse file', () => {
    const src = path.join(tmpDir(), 'src');
    const at = makeSparse(src);
    const fd = openSync(src, 'r');
    const list = [...extents(fd, GiB)];
    closeSync(fd);
    const data = list.filter((e) => !e.hole);
    expect(data.map((e) => e.offset)).toEqual(at);
    expect(data.every((e) => e.length >= 64 * 1024 && e.length <= MiB)).toBe(true);
    expect(list.reduce((n, e) => n + e.length, 0)).toBe(GiB);
    list.slice(1).forEach((e, i) => expect(e.offset).toBe(list[i]!.offset + list[i]!.length));
  });

  it('copies it within 1 MiB of the source’s allocated size, byte for byte', async () => {
    const d = tmpDir();
    const src = path.join(d, 'src');
    const at = makeSparse(src);
    const dst = path.join(d, 'dst');
    await copyThrough(src, dst);
    const [s, t] = [statSync(src), statSync(dst)];
    expect(t.size).toBe(GiB);
    expect(Math.abs(t.blocks - s.blocks) * 512).toBeLessThan(MiB);
    expect(t.blocks * 512).toBeLessThan(MiB);
    // cmp over the data runs (a whole-file cmp reads a GiB of zeros); the rest is unallocated.
    for (const off of at)
      expect(() => run('cmp', ['-i', `${off}:${off}`, '-n', '65536', src, dst])).not.toThrow();
    expect(run('od', ['-A', 'n', '-t', 'x1', '-j', String(64 * 1024), '-N', '4', dst]).trim()).toBe(
      '00 00 00 00',
    );
  });

  it('turns written zero blocks into holes, punching them in place over old data', async () => {
    const d = tmpDir();
    const src = path.join(d, 'zeros');
    await fsp.writeFile(src, Buffer.concat([Buffer.alloc(8 * MiB), Buffer.from('end')]));
    expect(statSync(src).blocks * 512).toBeGreaterThanOrEqual(8 * MiB);
    const dst = path.join(d, 'old');
    await fsp.writeFile(dst, Buffer.alloc(8 * MiB + 3, 0x41));
    await copyThrough(src, dst, true);
    expect(statSync(dst).blocks * 512).toBeLessThan(MiB);
    expect(() => run('cmp', [src, dst])).not.toThrow();
  });

  it('writes unaligned data and keeps zero bytes around it exact', async () => {
    const d = tmpDir();
    const dst = path.join(d, 'dst');
    const fh = await fsp.open(dst, 'w');
    const w = new SparseWriter(fh);
    const part = Buffer.concat([Buffer.alloc(5000), Buffer.from('mid'), Buffer.alloc(10000)]);
    await w.write(part, 100);
    await w.finish(20000);
    await fh.close();
    const got = await fsp.readFile(dst);
    const want = Buffer.alloc(20000);
    part.copy(want, 100);
    expect(got.equals(want)).toBe(true);
  });
});
