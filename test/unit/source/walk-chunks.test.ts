// walkCursor: the reconciliation's walk, its listings and lstats on a worker thread (DirLister),
// gives what walkInPathOrder yields — the same entries, order, keys, skips and numbers — one
// at a time, read in place, and asks for no directory's listing before beforeList heard of it (watched, then listed).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFilter, type PathFilter } from '../../../src/source/filter.js';
import { DirLister } from '../../../src/source/dir-lister.js';
import { walkCursor } from '../../../src/source/walk-chunks.js';
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

/** The cursor's entries, each as an object, and the directories beforeList heard of. */
async function chunked(base: string, filter: PathFilter, pool: DirLister) {
  const out: Array<WalkEntry | Unreadable> = [];
  const listed: string[] = [];
  const w = await walkCursor(base, filter, (rel) => listed.push(rel), pool);
  try {
    for (let s = w.advance(); s >= 0; s = w.advance()) {
      if (s === 1) out.push(w.entry());
      else await w.ready();
    }
  } finally {
    w.close();
  }
  return { out, listed };
}

describe('walkCursor', () => {
  it('gives what walkInPathOrder yields, inline and on the worker, through each filter', async () => {
    const dir = tmp('same');
    for (const d of ['a', 'a/b', 'a0', 'skipme', 'big', 'big/skipme', 'a/x.logs'])
      mkdirSync(path.join(dir, d));
    const files = ['a/b/c', 'a/x', 'a-b', 'a.b', 'a0/y', 'skipme/k', 'é', 'Z', 'a/b/.smr-tmp-1'];
    for (const p of [...files, 'big/skipme/k', 'a0/x.log', 'a/x.logs/z', 'a/x.logs/z.log'])
      writeFileSync(path.join(dir, p), p);
    for (let i = 0; i < 2500; i++) writeFileSync(path.join(dir, 'big', `f${i}`), '');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/`), Buffer.of(0xff, 0xe9)]), 'odd');
    symlinkSync('a', path.join(dir, 'link'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]); // not walked, as walkInPathOrder
    // Excludes alone (the filter need not be asked in a directory whose names hold none of the
    // texts it turns away), an exclude it cannot say that of, and an include (it must be asked).
    const filters = [
      makeFilter([], ['skipme/', '*.log']),
      makeFilter([], ['[s]kipme']),
      makeFilter(['a/**'], []),
    ];
    for (const [filter, pool] of filters.flatMap((f) => [
      [f, new DirLister()] as const,
      [f, new DirLister(0)] as const,
    ])) {
      const listed: string[] = [];
      const want = seen([...walkInPathOrder(dir, filter, (rel) => listed.push(rel))]);
      expect(want.length).toBeGreaterThan(filter === filters[2] ? 5 : 2500);
      const got = await chunked(dir, filter, pool);
      expect(seen(got.out)).toEqual(want);
      // Every directory (a subdirectory after its parent: asked ahead, not strictly in path order).
      expect(got.listed.slice().sort()).toEqual(listed.slice().sort());
      for (const rel of got.listed.filter((r) => r.includes('/')))
        expect(got.listed.indexOf(rel.slice(0, rel.lastIndexOf('/')))).toBeLessThan(
          got.listed.indexOf(rel),
        );
    }
    expect(filters.map((f) => f.refusedHold)).toEqual([
      ['.smr-tmp-', '.log', 'skipme'],
      null,
      null,
    ]);
  });

  it('says what lies past PATH_MAX when the worker lstats it (ENAMETOOLONG), as the main thread does', async () => {
    const dir = tmp('long');
    const depth = Math.floor((4095 - dir.length) / 2);
    const script = `for (1..${depth}) { mkdir "d" or die $!; chdir "d" or die $! } for ("x", "y") { open(my $f, ">", $_) or die $! }`;
    execFileSync('perl', ['-e', script], { cwd: dir });
    const filter = makeFilter([], []);
    const want = [...walkInPathOrder(dir, filter)];
    const got = await chunked(dir, filter, new DirLister(0));
    expect(seen(got.out)).toEqual(seen(want));
    const deep = Array.from({ length: depth }, () => 'd').join('/');
    expect(
      got.out.slice(-2).map((e) => ('unreadable' in e ? [e.rel, e.unreadable] : e.rel)),
    ).toEqual([
      [`${deep}/x`, 'ENAMETOOLONG'],
      [`${deep}/y`, 'ENAMETOOLONG'],
    ]);
  });

  it('a closed lister (a worker that failed) still lists, inline', async () => {
    const dir = tmp('closed');
    for (let i = 0; i < 50; i++) writeFileSync(path.join(dir, `f${i}`), `${i}`);
    const pool = new DirLister(0);
    pool.close();
    const filter = makeFilter([], []);
    const got = await chunked(dir, filter, pool);
    expect(seen(got.out)).toEqual(seen([...walkInPathOrder(dir, filter)]));
  });

  it('asks for a directory only after beforeList heard of it, and walks a tree deeper than its lookahead', async () => {
    const dir = tmp('order');
    const deep = ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'e'];
    for (const d of deep) mkdirSync(path.join(dir, d));
    for (let i = 0; i < 60; i++) mkdirSync(path.join(dir, `e/s${i}`));
    for (const d of [...deep, 'e/s7']) writeFileSync(path.join(dir, d, 'f'), d);
    const events: string[] = [];
    const real = new DirLister(0);
    const lister = {
      list: (at: Buffer) => {
        events.push(`list ${path.relative(dir, at.toString())}`);
        return real.list(at);
      },
      close: () => real.close(),
      fields: real.fields,
    } as unknown as DirLister;
    const filter = makeFilter([], []);
    const out: Array<WalkEntry | Unreadable> = [];
    const w = await walkCursor(dir, filter, (rel) => events.push(`watch ${rel}`), lister);
    for (let s = w.advance(); s >= 0; s = w.advance())
      if (s === 1) out.push(w.entry());
      else await w.ready();
    w.close();
    expect(seen(out)).toEqual(seen([...walkInPathOrder(dir, filter)]));
    expect(events[0]).toBe('list '); // the root: watched by the watcher's start
    for (const [i, e] of events.entries())
      if (i > 0 && e.startsWith('list '))
        expect(events.slice(0, i)).toContain(`watch ${e.slice(5)}`);
    expect(events.filter((e) => e.startsWith('list '))).toHaveLength(66);
  });
});
