// walkInPathOrder: the restart's walk of the source, merged with the index by key.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PathIndex, type IndexEntry } from '../../../src/index/index.js';
import { makeFilter } from '../../../src/source/filter.js';
import { pathKey } from '../../../src/source/index-path.js';
import { Reconciler, type ReconcileHost } from '../../../src/source/reconcile.js';
import { walkInPathOrder } from '../../../src/source/walk.js';
import { allStamps } from '../../helpers/stamps.js';

const entry: IndexEntry = {
  type: 'file',
  size: 0,
  mtimeNs: 0n,
  mode: 0,
  uid: 0,
  gid: 0,
  dev: 0n,
  ino: 0n,
  rdev: 0n,
  link: null,
  sha256: null,
  attrDigest: null,
  seq: 0,
  ctimeNs: 0n,
};

let dirs: string[] = [];
const tmp = (what: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), `smr-walk-${what}-`));
  dirs.push(d);
  return d;
};
afterEach(() => {
  // rm(1): Node's recursive rmSync overflows the stack on the deep tree below.
  for (const d of dirs) execFileSync('rm', ['-rf', d]);
  dirs = [];
});

describe('walkInPathOrder', () => {
  it("yields the index's key order, each entry's key its path's", async () => {
    const dir = tmp('order');
    for (const d of ['a', 'a/b', 'a0', 'skipme']) mkdirSync(path.join(dir, d));
    for (const p of ['a/b/c', 'a/x', 'a-b', 'a.b', 'a0/y', 'skipme/k', 'é', 'Z'])
      writeFileSync(path.join(dir, p), p);
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/`), Buffer.of(0xff, 0xe9)]), 'odd');
    const got = [...walkInPathOrder(`${dir}/`, makeFilter([], ['skipme/']))];
    const rels = got.map((e) => e.rel);
    expect(rels).not.toContain('skipme/k');
    expect(rels).toContain('a/\udcff\udce9');
    // The index's own order of the same paths is the walk's, and so are its keys.
    const index = PathIndex.open(path.join(tmp('index'), 'index.sqlite'));
    for (const e of got) {
      if ('unreadable' in e) throw new Error(`unreadable: ${e.rel}`);
      // The key is the path's bytes with each '/' a 0x00 (names that are not UTF-8 included).
      expect(e.key.map((b) => (b === 0 ? 0x2f : b))).toEqual(pathKey(e.rel));
      index.put(pathKey(e.rel), entry);
    }
    // The index hands its entries out in the walk's order, keyed alike.
    expect((await allStamps(index)).rows.map((r) => r.key)).toEqual(got.map((e) => e.key));
    index.close();
  });

  it('walks a tree 3,000 directories deep, saying what lies past PATH_MAX', () => {
    const dir = tmp('deep');
    // Past PATH_MAX only relative steps reach: perl (Debian's essential perl-base) mkdirs and
    // chdirs 3,000 times in one process.
    execFileSync('perl', ['-e', 'for (1..3000) { mkdir "d" or die $!; chdir "d" or die $! }'], {
      cwd: dir,
    });
    const got = [...walkInPathOrder(dir, makeFilter([], []))];
    const walked = got.filter((e) => 'st' in e);
    // Each level right after its parent, down to the deepest path lstat can take...
    walked.forEach((e, i) =>
      expect(e.rel).toBe(Array.from({ length: i + 1 }, () => 'd').join('/')),
    );
    expect(`${dir}/${walked[walked.length - 1]?.rel}`.length).toBeLessThan(4096);
    expect(walked.length).toBeGreaterThan(1900);
    // ...and the next one is said, not silently left out (nor taken for deleted).
    const last = got[got.length - 1];
    const deepest = walked[walked.length - 1]?.rel ?? '';
    expect(last).toEqual({
      rel: `${deepest}/d`,
      unreadable: 'ENAMETOOLONG',
      key: pathKey(`${deepest}/d`).map((b) => (b === 0x2f ? 0 : b)),
    });
  });

  it('keeps what the index holds at names past PATH_MAX: neither is taken for deleted', async () => {
    const dir = tmp('long');
    // A directory just short of PATH_MAX, holding two names that lie past it.
    const depth = Math.floor((4095 - dir.length) / 2);
    const script = `for (1..${depth}) { mkdir "d" or die $!; chdir "d" or die $! } for ("x", "y") { open(my $f, ">", $_) or die $! }`;
    execFileSync('perl', ['-e', script], { cwd: dir });
    const deep = Array.from({ length: depth }, () => 'd').join('/');
    const index = PathIndex.open(path.join(tmp('index'), 'index.sqlite'));
    // What was sent before the tree moved this deep: the directories and the two files.
    for (let i = 1; i <= depth; i++)
      index.put(pathKey(deep.slice(0, 2 * i - 1)), { ...entry, type: 'dir' });
    for (const n of ['x', 'y']) index.put(pathKey(`${deep}/${n}`), entry);
    const marked: string[] = [];
    const skipped: string[] = [];
    const host = {
      base: dir,
      filter: makeFilter([], []),
      ledger: { index, markChanged: (rel: string) => marked.push(rel), lastQueued: 0 },
      hint: () => undefined,
      drain: () => Promise.resolve(),
      flushGone: () => Promise.resolve(),
      backlog: 0,
      skipped: { skip: (rel: string) => skipped.push(rel) },
    } as unknown as ReconcileHost;
    const r = await new Reconciler(host).run({ unknown: 'all', brake: true });
    expect(skipped).toEqual([`${deep}/x`, `${deep}/y`]);
    expect(marked).toEqual([]);
    expect(r.deletes).toBe(0);
    index.close();
  });
});
