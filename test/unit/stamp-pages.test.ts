// The kept stamp pages (src/index/stamp-pages.ts) on a real SQLite file: a reconciliation reads
// from them exactly the rows the entries give, and any write to an entry or a dirty mark drops
// the page covering its key in the same transaction, so a kept page is never stale.
import { describe, expect, it } from 'vitest';
import { DIRTY_UNSURE } from '../../src/index/index.js';
import { openDatabase } from '../../src/index/sqlite.js';
import { indexEntry, scratchIndex } from '../helpers/scratch-index.js';
import { allStamps } from '../helpers/stamps.js';

const b = (s: string): Buffer => Buffer.from(s);

const scratch = scratchIndex('smr-stamp-pages');

const entry = indexEntry;

/** 2,600 entries in 13 directories: files, a symlink and a dirty mark in each. */
function fill(): void {
  const paths: Buffer[] = [];
  for (let d = 0; d < 13; d++) {
    paths.push(b(`d${d}`));
    for (let f = 0; f < 199; f++) paths.push(b(`d${d}/f${String(f).padStart(3, '0')}`));
  }
  scratch.index.putEach(paths, (i) => {
    const p = (paths[i] as Buffer).toString();
    if (!p.includes('/')) return { entry: entry({ type: 'dir', mode: 0o40755, ino: BigInt(i) }) };
    if (p.endsWith('7'))
      return { entry: entry({ type: 'symlink', link: b(`t${i}`), mode: 0o120777 }) };
    return { entry: entry({ ino: BigInt(i + 1), size: i, attrDigest: i % 3 ? b('x') : null }) };
  });
  for (let d = 0; d < 13; d++) scratch.index.markDirty(b(`d${d}/f100`), DIRTY_UNSURE);
}

/** Builds every page, `budget` rows at a time; returns how many calls that took. */
function build(budget = 1000): number {
  const pages = scratch.index.stampPages();
  let calls = 1;
  while (!pages.refresh(budget)) calls++;
  return calls;
}

/** The rows read from the entries themselves (on this thread, no page), and through the pages. */
async function bothWays(): Promise<{ kept: number; equal: boolean; n: number }> {
  const plain = await allStamps(scratch.index, Infinity);
  const ahead = await allStamps(scratch.index, 0);
  expect(ahead.rows).toEqual(plain.rows);
  return { kept: ahead.fromKept, equal: true, n: plain.rows.length };
}

describe('stamp pages', () => {
  it('read back the rows the entries give, field for field, once built', async () => {
    fill();
    expect((await bothWays()).kept).toBe(0); // none built yet: every row from the entries
    expect(build(1000)).toBeGreaterThan(2); // a bounded number of rows per call
    expect(scratch.index.stampPages().gaps()).toEqual([]);
    const r = await bothWays();
    expect(r).toMatchObject({ kept: 2600, n: 2600 });
    // A page one row short: the rows read on this thread then end inside the next kept page,
    // and the worker takes the rest of that one from the entries, the pages after it whole.
    scratch.index.delete(b('d0/f005'), 2);
    build(100_000);
    const mid = await allStamps(scratch.index, 1);
    expect(mid.rows).toEqual((await allStamps(scratch.index, Infinity)).rows);
    expect(mid.fromKept).toBeGreaterThan(0);
    expect(mid.fromKept).toBeLessThan(mid.fromWorker);
  });

  const writes: Array<[string, () => void]> = [
    ['a new key inside a page', () => scratch.index.put(b('d3/f050a'), entry({ size: 77 }))],
    ['a key before every other', () => scratch.index.put(b('a'), entry({ size: 1 }))],
    ['a key after every other', () => scratch.index.put(b('zz'), entry({ size: 2 }))],
    ['an entry changed', () => scratch.index.put(b('d5/f010'), entry({ size: 12345 }))],
    ['an entry deleted', () => scratch.index.delete(b('d7/f198'), 2)],
    ['a subtree deleted', () => scratch.index.deleteTree(b('d9'), 2)],
    [
      'a subtree renamed (to a key in another page)',
      () => {
        scratch.index.clearDirty(b('d0/f100')); // no mark moves along: the rename's own rows drop pages
        scratch.index.renameTree(b('d0'), b('d8x'), 2);
      },
    ],
    ['a dirty mark added', () => scratch.index.markDirty(b('d11/f005'), DIRTY_UNSURE)],
    ['a dirty mark cleared', () => scratch.index.clearDirty(b('d4/f100'))],
  ];
  for (const [what, write] of writes) {
    it(`drop the page covering ${what}, so the rows read stay the entries'`, async () => {
      fill();
      build(100_000);
      write();
      const r = await bothWays();
      expect(scratch.index.stampPages().gaps().length).toBeGreaterThan(0);
      expect(r.kept).toBeLessThan(r.n);
      expect(r.kept).toBeGreaterThan(0); // only the pages covering the writes went
      build(100_000);
      expect((await bothWays()).kept).toBe((await allStamps(scratch.index, Infinity)).rows.length);
    });
  }

  it('are built again when another packing wrote them, never read', async () => {
    fill();
    build(100_000);
    const raw = openDatabase(scratch.file, false);
    raw.exec('UPDATE stamp_pages SET format = format + 1');
    raw.close();
    expect((await bothWays()).kept).toBe(0);
    build(100_000);
    expect((await bothWays()).kept).toBe(2600);
  });

  it('cover an empty scratch.index, and its first entries once written', async () => {
    build();
    expect(scratch.index.stampPages().gaps()).toEqual([]);
    scratch.index.put(b('f'), entry());
    expect((await bothWays()).n).toBe(1);
    build();
    expect((await bothWays()).kept).toBe(1);
  });
});
