// The native watcher on a real directory: which hints it gives, which directories it watches, and
// when it reports a possible loss. (The chokidar backend is exercised end to end in
// test/e2e/watcher.test.ts.)
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeFilter } from '../../../src/source/filter.js';
import {
  startNativeWatcher,
  nativeUnavailable,
  type NativeWatcher,
} from '../../../src/source/watch-native.js';
import { EventPass, overflowThreshold } from '../../../src/source/watch-overflow.js';
import { walkInPathOrder } from '../../../src/source/walk.js';

interface Probe {
  base: string;
  hints: Set<string>;
  missed: string[];
  w: NativeWatcher;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f();
});

function tree(): string {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-watch-'));
  open.push(async () => rmSync(base, { recursive: true, force: true }));
  return base;
}

async function watchTree(
  base: string,
  pass = new EventPass(null),
  exclude: string[] = [],
): Promise<Probe> {
  const hints = new Set<string>();
  const missed: string[] = [];
  const w = await startNativeWatcher(
    base,
    makeFilter([], exclude),
    { hint: (r) => hints.add(r), missed: (m) => missed.push(m) },
    pass,
  );
  open.unshift(() => w.close());
  return { base, hints, missed, w };
}

function expectHinted(p: Probe, ...rels: string[]): Promise<void> {
  return vi.waitFor(() => expect([...p.hints]).toEqual(expect.arrayContaining(rels)), {
    timeout: 5000,
  });
}

describe('native watcher', () => {
  it('watches every directory once and no file', async () => {
    const base = tree();
    for (const d of ['a', 'a/b', 'a/b/c', 'x', 'skip', 'skip/deep']) mkdirSync(path.join(base, d));
    for (let i = 0; i < 50; i++) writeFileSync(path.join(base, 'a', `f${i}`), 'x');
    const p = await watchTree(base, undefined, ['skip/**']);
    expect(p.w.stats()).toEqual({ backend: 'native', watchedDirs: 5, unwatched: 0 });
  });

  it('watches the directory a symlinked root points to, and names changes relative to the root', async () => {
    const real = tree();
    mkdirSync(path.join(real, 'a'));
    const link = path.join(tree(), 'data');
    symlinkSync(real, link);
    const p = await watchTree(link);
    expect(p.w.stats()).toEqual({ backend: 'native', watchedDirs: 2, unwatched: 0 });
    writeFileSync(path.join(link, 'a', 'new.txt'), 'x');
    await expectHinted(p, 'a/new.txt');
  });

  it('hints both names of a renamed file', async () => {
    const base = tree();
    writeFileSync(path.join(base, 'old.txt'), 'x');
    const p = await watchTree(base);
    renameSync(path.join(base, 'old.txt'), path.join(base, 'new.txt'));
    await expectHinted(p, 'old.txt', 'new.txt');
  });

  it('follows a moved directory: both names hinted, its changes named under the new one', async () => {
    const base = tree();
    mkdirSync(path.join(base, 'd/sub'), { recursive: true });
    mkdirSync(path.join(base, 'elsewhere'));
    const p = await watchTree(base);
    renameSync(path.join(base, 'd'), path.join(base, 'e'));
    await expectHinted(p, 'd', 'e');
    await p.w.settled();
    p.hints.clear();
    writeFileSync(path.join(base, 'e/sub/f.txt'), 'x');
    await expectHinted(p, 'e/sub/f.txt');
    // Moved again, into another directory; and then a new directory takes the old name.
    renameSync(path.join(base, 'e'), path.join(base, 'elsewhere/e2'));
    mkdirSync(path.join(base, 'e'));
    await expectHinted(p, 'e', 'elsewhere/e2');
    await p.w.settled();
    p.hints.clear();
    writeFileSync(path.join(base, 'elsewhere/e2/sub/g.txt'), 'x');
    writeFileSync(path.join(base, 'e/h.txt'), 'x');
    await expectHinted(p, 'elsewhere/e2/sub/g.txt', 'e/h.txt');
    expect([...p.hints].filter((h) => h.startsWith('e/sub') || h.startsWith('d/'))).toEqual([]);
    // 7 directories were ever watched; root, elsewhere, elsewhere/e2(+sub) and the new e remain.
    expect(p.w.stats().watchedDirs).toBe(5);
  });

  it('watches a tree moved in from outside and hints everything in it', async () => {
    const base = tree();
    const outside = tree();
    mkdirSync(path.join(outside, 'o1/o2'), { recursive: true });
    writeFileSync(path.join(outside, 'o1/o2/old.txt'), 'x');
    const p = await watchTree(base);
    renameSync(path.join(outside, 'o1'), path.join(base, 'o1'));
    await expectHinted(p, 'o1', 'o1/o2', 'o1/o2/old.txt');
    await p.w.settled();
    writeFileSync(path.join(base, 'o1/o2/new.txt'), 'x');
    await expectHinted(p, 'o1/o2/new.txt');
  });

  it('misses no file created in a directory just created, however deep and however fast', async () => {
    const base = tree();
    const p = await watchTree(base);
    const want: string[] = [];
    for (let i = 0; i < 30; i++) {
      const d = `n${i}/a/b/c`;
      mkdirSync(path.join(base, d), { recursive: true });
      writeFileSync(path.join(base, d, 'f.txt'), 'x'); // before any watch below n{i} can exist
      want.push(`${d}/f.txt`);
    }
    await expectHinted(p, ...want);
    await p.w.settled();
    writeFileSync(path.join(base, 'n7/a/b/c/later.txt'), 'x');
    await expectHinted(p, 'n7/a/b/c/later.txt');
    expect(p.w.stats().watchedDirs).toBe(1 + 30 * 4);
  });

  it('watches a directory again after it was deleted and recreated under the same name', async () => {
    const base = tree();
    mkdirSync(path.join(base, 'd'));
    const p = await watchTree(base);
    rmSync(path.join(base, 'd'), { recursive: true });
    mkdirSync(path.join(base, 'd'));
    await expectHinted(p, 'd');
    await p.w.settled();
    writeFileSync(path.join(base, 'd/f.txt'), 'x');
    await expectHinted(p, 'd/f.txt');
  });

  it('hints changes made while its initial scan still runs', async () => {
    const base = tree();
    for (let i = 0; i < 600; i++) mkdirSync(path.join(base, `d${i}/s`), { recursive: true });
    const hints = new Set<string>();
    let ready = false;
    const started = startNativeWatcher(
      base,
      makeFilter([], []),
      { hint: (r) => hints.add(r), missed: () => undefined },
      new EventPass(null),
    ).then((w) => {
      ready = true;
      open.unshift(() => w.close());
      return w;
    });
    // The root is watched before startNativeWatcher first yields; the walk below it takes turns.
    const during: string[] = [];
    for (let i = 0; !ready && i < 10_000; i++) {
      writeFileSync(path.join(base, `root-${i}.txt`), 'x');
      during.push(`root-${i}.txt`);
      await new Promise((r) => setImmediate(r));
    }
    await started;
    expect(during.length).toBeGreaterThan(0); // the writes did happen during the scan
    await vi.waitFor(() => expect([...hints]).toEqual(expect.arrayContaining(during)));
    writeFileSync(path.join(base, 'd599/s/after.txt'), 'x');
    await vi.waitFor(() => expect(hints.has('d599/s/after.txt')).toBe(true));
  });

  it('started deferred, watches the directories a walk places before listing them, or the rest', async () => {
    const base = tree();
    for (const d of ['a', 'a/b', 'c', 'skip']) mkdirSync(path.join(base, d));
    const filter = makeFilter([], ['skip/**']);
    const start = async (): Promise<Probe> => {
      const hints = new Set<string>();
      const sink = { hint: (r: string) => hints.add(r), missed: () => undefined };
      const w = await startNativeWatcher(base, filter, sink, new EventPass(null), true);
      open.unshift(() => w.close());
      return { base, hints, missed: [], w };
    };
    const p = await start();
    expect(p.w.stats().watchedDirs).toBe(1); // the root alone
    // A restart's walk: each directory watched right before it is listed, and so all of them.
    const walk = walkInPathOrder(base, filter, (rel, st) => p.w.place(rel, st));
    expect([...walk].map((e) => e.rel)).toEqual(['a', 'a/b', 'c']);
    expect(p.w.stats()).toEqual({ backend: 'native', watchedDirs: 4, unwatched: 0 });
    writeFileSync(path.join(base, 'a/b/new.txt'), 'x');
    await expectHinted(p, 'a/b/new.txt');
    // A walk that stopped part way ('a' placed, 'a/b' and 'c' not): placeRest watches the rest.
    const q = await start();
    const part = walkInPathOrder(base, filter, (rel, st) => q.w.place(rel, st));
    part.next();
    part.next();
    expect(q.w.stats().watchedDirs).toBe(2);
    q.w.placeRest();
    await q.w.settled();
    expect(q.w.stats().watchedDirs).toBe(4);
    writeFileSync(path.join(base, 'c/new.txt'), 'x');
    await expectHinted(q, 'c/new.txt');
  });

  it('reports a possible overflow when one read brings the queue limit of events', async () => {
    const base = tree();
    mkdirSync(path.join(base, 'd'));
    const small = await watchTree(base, new EventPass(overflowThreshold(100)));
    // Written in one go: the events queue up and are read back in one pass of the event loop.
    for (let i = 0; i < 200; i++) writeFileSync(path.join(base, 'd', `f${i}`), 'x');
    await vi.waitFor(() => expect(small.missed).toHaveLength(1));
    expect(small.missed[0]).toMatch(/overflow/);
    // The same burst against the real limit is no overflow.
    const base2 = tree();
    const real = await watchTree(base2, new EventPass(overflowThreshold(16384)));
    for (let i = 0; i < 200; i++) writeFileSync(path.join(base2, `f${i}`), 'x');
    await expectHinted(real, 'f199');
    await new Promise((r) => setTimeout(r, 50));
    expect(real.missed).toEqual([]);
  });

  it('runs on Linux only, where its cost and its overflow detection were measured', () => {
    expect(nativeUnavailable('linux')).toBeNull();
    expect(nativeUnavailable('darwin')).toMatch(/inotify/);
  });
});

describe('EventPass', () => {
  it('reports a pass that reaches the threshold to every listener, and only such a pass', async () => {
    const pass = new EventPass(5);
    const a: number[] = [];
    const b: number[] = [];
    pass.listen((n) => a.push(n));
    const stopB = pass.listen((n) => b.push(n));
    for (let i = 0; i < 4; i++) pass.note();
    await new Promise((r) => setImmediate(r));
    expect(a).toEqual([]);
    for (let i = 0; i < 4; i++) {
      pass.note(); // one per pass: never 5 in one
      await new Promise((r) => setImmediate(r));
    }
    expect(a).toEqual([]);
    pass.note(3);
    pass.note(2);
    await new Promise((r) => setImmediate(r));
    expect(a).toEqual([5]);
    expect(b).toEqual([5]);
    stopB();
    pass.note(6);
    await new Promise((r) => setImmediate(r));
    expect(a).toEqual([5, 6]);
    expect(b).toEqual([5]);
    expect(pass.overflows).toBe(2);
  });

  it('takes a sixteenth off the queue limit for events libuv drops without a callback', () => {
    expect(overflowThreshold(16384)).toBe(15360);
    expect(overflowThreshold(null)).toBeNull();
  });
});
