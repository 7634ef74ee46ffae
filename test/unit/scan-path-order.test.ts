// scanInPathOrder: the mirror's scan, in the order the listing store keeps the target's listing
// (the two are merged one entry at a time, so one order must be the other's, byte for byte).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ListingStore } from '../../src/index/listing-store.js';
import { makeFilter } from '../../src/source/filter.js';
import type { ScanSkip } from '../../src/source/scan.js';
import { scanInPathOrder } from '../../src/source/walk.js';

let dir = '';
afterEach(() => {
  // rm(1): Node's recursive rmSync itself overflows the stack on the deep tree below.
  if (dir) execFileSync('rm', ['-rf', dir]);
});

async function scan(base: string, specials: boolean, skips: ScanSkip[]): Promise<string[]> {
  const out: string[] = [];
  const filter = makeFilter([], ['skipme/']);
  for await (const e of scanInPathOrder(base, filter, (s) => skips.push(s), specials))
    out.push(e.rel);
  return out;
}

describe('scanInPathOrder', () => {
  it("yields the listing store's path order, names that are not UTF-8 included", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'smr-scan-order-'));
    for (const d of ['a', 'a/b', 'a0', 'skipme', 'z'])
      mkdirSync(path.join(dir, d), { recursive: true });
    for (const p of ['a/b/c', 'a/x', 'a-b', 'a.b', 'a0/y', 'skipme/k', 'é', 'Z', 'z/1'])
      writeFileSync(path.join(dir, p), p);
    // The bytes 0xff and 0xe9: a name that is not UTF-8, next to ones that are.
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/`), Buffer.of(0xff, 0xe9)]), 'odd');
    execFileSync('mkfifo', [path.join(dir, 'a/fifo')]);
    const skips: ScanSkip[] = [];
    const got = await scan(dir, true, skips);
    const store = ListingStore.open();
    store.add(got.map((p) => ({ path: p, type: 'file', size: 0, mtimeMs: 0, mode: 0 })));
    expect(got).toEqual([...store.rows(3)].map((r) => r.path));
    expect(got).toContain('a/\udcff\udce9');
    expect(got).toContain('a/fifo');
    expect(got).not.toContain('skipme/k');
    expect(got.indexOf('a/x')).toBeLessThan(got.indexOf('a-b')); // a's contents right after it
    expect(skips).toEqual([]);
    store.close();
    const plain: ScanSkip[] = [];
    expect(await scan(dir, false, plain)).not.toContain('a/fifo');
    expect(plain.map((s) => [s.rel, s.reason])).toEqual([['a/fifo', 'fifo']]);
  });

  it('walks a tree 2,000 directories deep (nested generators overflowed the stack)', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'smr-scan-deep-'));
    const deep = Array.from({ length: 2000 }, () => 'd').join('/');
    mkdirSync(path.join(dir, deep), { recursive: true });
    writeFileSync(path.join(dir, deep, 'f'), 'x');
    const got = await scan(dir, false, []);
    expect(got.length).toBe(2001);
    expect(got[got.length - 1]).toBe(`${deep}/f`);
  });
});
