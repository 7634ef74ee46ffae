// scanInPathOrder: the mirror's scan, in the order the listing store keeps the target's listing
// (the two are merged one entry at a time, so one order must be the other's, byte for byte),
// listed on worker threads: scanTree's entries, every number of their stats, and its skips.
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ListingStore } from '../../src/index/listing-store.js';
import { makeFilter } from '../../src/source/filter.js';
import { fstatatPlan } from '../../src/fsmeta/index.js';
import { DirLister } from '../../src/source/dir-lister.js';
import type { ScanStat } from '../../src/source/entry-type.js';
import { scanTree, type ScanSkip } from '../../src/source/scan.js';
import { scanInPathOrder } from '../../src/source/scan-listed.js';
import { FULL_FIELDS } from '../../src/source/stat-pool.js';

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

/** Every number and type test a scan's consumer may read of `st` (ScanStat). */
function numbers(st: ScanStat): unknown[] {
  const { dev, ino, mode, nlink, uid, gid, rdev, size, mtimeMs, ctimeMs } = st;
  const is = [st.isFile(), st.isDirectory(), st.isSymbolicLink(), st.isFIFO(), st.isSocket()];
  return [dev, ino, mode, nlink, uid, gid, rdev, size, mtimeMs, ctimeMs, ...is];
}

/** A scan's entries by path (each with its numbers), and its skips. */
async function entries(scan: AsyncIterable<{ rel: string; st: ScanStat }>, skips: ScanSkip[]) {
  const out: Array<[string, unknown[]]> = [];
  for await (const e of scan) out.push([e.rel, numbers(e.st)]);
  out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  skips.sort((a, b) => (a.rel < b.rel ? -1 : 1));
  return { out, skips };
}

describe('scanInPathOrder on the listers', () => {
  it("gives scanTree's entries, stats and skips, inline and on the worker", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'smr-scan-listed-'));
    const at = (rel: string): string => path.join(dir, rel);
    for (const d of ['a', 'a/b', 'skipme', 'dev']) mkdirSync(at(d), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(at(`a/b/f${i}`), 'x'.repeat(i));
    writeFileSync(at('a/one'), '1');
    linkSync(at('a/one'), at('a/two')); // hard links: nlink 2, one inode
    symlinkSync('a/one', at('link'));
    writeFileSync(at('skipme/k'), 'k');
    execFileSync('mkfifo', [at('a/fifo')]);
    if (process.getuid?.() === 0) {
      chownSync(at('a/b/f7'), 1234, 5678);
      execFileSync('mknod', [at('dev/null-like'), 'c', '1', '3']);
      execFileSync('mknod', [at('dev/loop-like'), 'b', '7', '0']);
    }
    const filter = makeFilter([], ['skipme/']);
    for (const specials of [true, false]) {
      const skipped: ScanSkip[] = [];
      const want = await entries(
        scanTree(dir, filter, '', (s) => skipped.push(s), specials),
        skipped,
      );
      expect(want.out.length).toBeGreaterThan(35);
      // Inline (a small tree), and on the worker with and without fstatat.
      const listers = [
        undefined,
        new DirLister(-1, fstatatPlan(), 2, FULL_FIELDS),
        new DirLister(-1, null, 2, FULL_FIELDS),
      ];
      for (const lister of listers) {
        const skips: ScanSkip[] = [];
        const scan = scanInPathOrder(dir, filter, (s) => skips.push(s), specials, lister);
        expect(await entries(scan, skips)).toEqual(want);
      }
    }
  });

  it('says a directory it cannot list, and not one gone meanwhile', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'smr-scan-unlisted-'));
    for (const d of ['a', 'locked', 'locked/in', 'gone']) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'a/f'), 'f');
    // Root reads every directory: the lister is told to fail where the kernel would not.
    const real = new DirLister(-1, fstatatPlan(), 2, FULL_FIELDS);
    const fails: Record<string, string> = { locked: 'EACCES', gone: 'ENOENT' };
    const lister = {
      list: (d: Buffer) => {
        const code = fails[path.basename(d.toString())];
        return code ? Promise.resolve({ error: code }) : real.list(d);
      },
      close: () => real.close(),
      fields: real.fields,
    } as unknown as DirLister;
    const skips: ScanSkip[] = [];
    const got: string[] = [];
    for await (const e of scanInPathOrder(
      dir,
      makeFilter([], []),
      (s) => skips.push(s),
      true,
      lister,
    ))
      got.push(e.rel);
    expect(got).toEqual(['a', 'a/f', 'gone', 'locked']);
    expect(skips).toEqual([
      { rel: 'locked', reason: 'unreadable', why: 'cannot list it (EACCES)' },
    ]);
  });
});
