// walkInChunks: the reconciliation's walk, its lstats on a worker thread (StatPool), yields what
// walkInPathOrder yields — the same entries, order, keys, skips and numbers — in chunks.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFilter, type PathFilter } from '../../../src/source/filter.js';
import { StatPool } from '../../../src/source/stat-pool.js';
import { walkInChunks } from '../../../src/source/walk-chunks.js';
import { walkInPathOrder, type Unreadable, type WalkEntry } from '../../../src/source/walk.js';

let dirs: string[] = [];
const tmp = (what: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), `smr-chunks-${what}-`));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs) execFileSync('rm', ['-rf', d]);
  dirs = [];
});

/** What a comparison reads of each entry, for one walk's output. */
function seen(entries: Array<WalkEntry | Unreadable>): unknown[] {
  return entries.map((e) =>
    'unreadable' in e
      ? e
      : {
          rel: e.rel,
          key: e.key,
          st: [e.st.dev, e.st.ino, e.st.mode, e.st.size, e.st.mtimeMs, e.st.ctimeMs],
          is: [e.st.isFile(), e.st.isDirectory(), e.st.isSymbolicLink()],
        },
  );
}

async function chunked(base: string, filter: PathFilter, pool: StatPool) {
  const out: Array<WalkEntry | Unreadable> = [];
  const listed: string[] = [];
  const sizes: number[] = [];
  for await (const c of walkInChunks(base, filter, (rel) => listed.push(rel), pool)) {
    sizes.push(c.length);
    out.push(...c);
  }
  return { out, listed, sizes };
}

describe('walkInChunks', () => {
  it('yields what walkInPathOrder yields, inline and on the worker, a chunk at a time', async () => {
    const dir = tmp('same');
    for (const d of ['a', 'a/b', 'a0', 'skipme', 'big']) mkdirSync(path.join(dir, d));
    for (const p of ['a/b/c', 'a/x', 'a-b', 'a.b', 'a0/y', 'skipme/k', 'é', 'Z'])
      writeFileSync(path.join(dir, p), p);
    for (let i = 0; i < 2500; i++) writeFileSync(path.join(dir, 'big', `f${i}`), '');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/`), Buffer.of(0xff, 0xe9)]), 'odd');
    symlinkSync('a', path.join(dir, 'link'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]); // not walked, as walkInPathOrder
    const filter = makeFilter([], ['skipme/']);
    const listed: string[] = [];
    const want = seen([...walkInPathOrder(dir, filter, (rel) => listed.push(rel))]);
    expect(want.length).toBeGreaterThan(2500);
    for (const pool of [new StatPool(), new StatPool(0)]) {
      const got = await chunked(dir, filter, pool);
      expect(seen(got.out)).toEqual(want);
      expect(got.listed).toEqual(listed); // every directory, before its contents
      expect(got.sizes.length).toBeGreaterThan(2);
    }
  });

  it('says what lies past PATH_MAX when the worker lstats it (ENAMETOOLONG), as the main thread does', async () => {
    const dir = tmp('long');
    const depth = Math.floor((4095 - dir.length) / 2);
    const script = `for (1..${depth}) { mkdir "d" or die $!; chdir "d" or die $! } for ("x", "y") { open(my $f, ">", $_) or die $! }`;
    execFileSync('perl', ['-e', script], { cwd: dir });
    const filter = makeFilter([], []);
    const want = [...walkInPathOrder(dir, filter)];
    const got = await chunked(dir, filter, new StatPool(0));
    expect(seen(got.out)).toEqual(seen(want));
    const deep = Array.from({ length: depth }, () => 'd').join('/');
    expect(
      got.out.slice(-2).map((e) => ('unreadable' in e ? [e.rel, e.unreadable] : e.rel)),
    ).toEqual([
      [`${deep}/x`, 'ENAMETOOLONG'],
      [`${deep}/y`, 'ENAMETOOLONG'],
    ]);
  });

  it('a closed pool (a worker that failed) still stats, inline', async () => {
    const dir = tmp('closed');
    for (let i = 0; i < 50; i++) writeFileSync(path.join(dir, `f${i}`), `${i}`);
    const pool = new StatPool(0);
    pool.close();
    const filter = makeFilter([], []);
    const got = await chunked(dir, filter, pool);
    expect(seen(got.out)).toEqual(seen([...walkInPathOrder(dir, filter)]));
  });

  it('a name the listing called a file and lstat finds a directory (replaced since) is yielded, not listed', async () => {
    const dir = tmp('raced');
    writeFileSync(path.join(dir, 'f'), '');
    mkdirSync(path.join(dir, 'g'));
    const real = new StatPool();
    // The pool's lstat of f sees what a rename of a directory over it would leave there.
    const dirStat = lstatSync(path.join(dir, 'g'));
    const pool = {
      many: async (joined: Buffer, n: number) => (await real.many(joined, n)).map(() => dirStat),
      close: () => real.close(),
    } as unknown as StatPool;
    const got = await chunked(dir, makeFilter([], []), pool);
    expect(got.out.map((e) => ('st' in e ? [e.rel, e.st.isDirectory()] : e.rel))).toEqual([
      ['f', true],
      ['g', true],
    ]);
    // Its parent's watch reports the replacement (that watches and lists it); the walk does not.
    expect(got.listed).toEqual(['g']);
  });
});
