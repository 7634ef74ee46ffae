// Source-side state: what the target is known to hold, the block-hash cache, path filters, and
// the persisted task table.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { KnownState, type Known } from '../../../src/source/known-state.js';
import { BlockCache, type BlockHashes } from '../../../src/source/block-cache.js';
import { makeFilter, underExcludedDir } from '../../../src/source/filter.js';
import { TaskTable, type TaskEntry } from '../../../src/source/task-table.js';

const known = (ino: number, type: Known['type'] = 'file'): Known => ({
  type,
  dev: 1,
  ino,
  size: ino * 10,
  mtimeMs: 1000 + ino,
  mode: 0o644,
});

describe('KnownState', () => {
  it('sets, gets and finds paths by inode', () => {
    const s = new KnownState();
    s.set('a.txt', known(1));
    expect(s.get('a.txt')).toEqual(known(1));
    expect(s.pathOfInode(1, 1)).toBe('a.txt');
    expect(s.pathOfInode(2, 1)).toBeUndefined();
    // Replacing a path's entry drops the old inode from the index.
    s.set('a.txt', known(2));
    expect(s.pathOfInode(1, 1)).toBeUndefined();
    expect(s.pathOfInode(1, 2)).toBe('a.txt');
    expect(s.size).toBe(1);
    s.delete('a.txt');
    expect(s.get('a.txt')).toBeUndefined();
    expect(s.pathOfInode(1, 2)).toBeUndefined();
  });

  it('moveTree moves a directory with its children and keeps the inode index right', () => {
    const s = new KnownState();
    s.set('a', known(1, 'dir'));
    s.set('a/x', known(2));
    s.set('a/y', known(3, 'dir'));
    s.set('a/y/z', known(4));
    s.set('ab', known(5)); // shares a prefix, is not a child
    s.set('b', known(6, 'dir')); // replaced by the move
    s.set('b/old', known(7));
    s.moveTree('a', 'b');
    expect(s.paths().sort()).toEqual(['ab', 'b', 'b/x', 'b/y', 'b/y/z']);
    expect(s.get('b/y/z')).toEqual(known(4));
    expect(s.pathOfInode(1, 1)).toBe('b');
    expect(s.pathOfInode(1, 2)).toBe('b/x');
    expect(s.pathOfInode(1, 4)).toBe('b/y/z');
    expect(s.pathOfInode(1, 5)).toBe('ab');
    expect(s.pathOfInode(1, 6)).toBeUndefined();
    expect(s.pathOfInode(1, 7)).toBeUndefined();
  });

  it('moveTree of a single file', () => {
    const s = new KnownState();
    s.set('f', known(1));
    s.moveTree('f', 'd/g');
    expect(s.paths()).toEqual(['d/g']);
    expect(s.pathOfInode(1, 1)).toBe('d/g');
  });

  it('deleteTree forgets a path and everything below it, nothing else', () => {
    const s = new KnownState();
    s.set('a', known(1, 'dir'));
    s.set('a/x', known(2));
    s.set('a/y/z', known(3));
    s.set('ab', known(4));
    s.deleteTree('a');
    expect(s.paths()).toEqual(['ab']);
    expect(s.pathOfInode(1, 2)).toBeUndefined();
    expect(s.childrenOf('a')).toEqual([]);
  });
});

describe('BlockCache', () => {
  const hashes = (n: number, seed = 0): BlockHashes => ({
    blockSize: 4096,
    size: n * 4096,
    hashes: BigUint64Array.from({ length: n }, (_, i) => BigInt(seed + i)),
  });

  it('evicts least recently used entries past the byte budget', () => {
    const c = new BlockCache(64); // eight hashes
    c.set('a', hashes(4));
    c.set('b', hashes(4));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('c', hashes(4));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    // Replacing an entry counts its new size only.
    c.set('c', hashes(2));
    c.set('d', hashes(2));
    expect(['a', 'c', 'd'].map((k) => c.get(k) !== undefined)).toEqual([true, true, true]);
  });

  it('keeps a single entry larger than the budget, dropping the rest', () => {
    const c = new BlockCache(64);
    c.set('a', hashes(2));
    c.set('huge', hashes(100));
    expect(c.get('a')).toBeUndefined();
    expect(c.get('huge')?.hashes.length).toBe(100);
  });

  it('moves an entry and its subtree, not prefix siblings', () => {
    const c = new BlockCache();
    c.set('d', hashes(1, 1));
    c.set('d/x', hashes(1, 2));
    c.set('d/e/y', hashes(1, 3));
    c.set('dx', hashes(1, 4));
    c.move('d', 'n');
    expect(c.get('d/x')).toBeUndefined();
    expect(c.get('n')?.hashes[0]).toBe(1n);
    expect(c.get('n/x')?.hashes[0]).toBe(2n);
    expect(c.get('n/e/y')?.hashes[0]).toBe(3n);
    expect(c.get('dx')?.hashes[0]).toBe(4n);
    c.deleteTree('n');
    expect(c.get('n/e/y')).toBeUndefined();
    expect(c.get('dx')).toBeDefined();
  });
});

describe('filter', () => {
  it('excluded directories exclude their contents', () => {
    const f = makeFilter([], ['node_modules/**', 'build', '*.log']);
    expect(f.dir('node_modules')).toBe(false);
    expect(f.dir('build')).toBe(false);
    expect(f.dir('src')).toBe(true);
    expect(underExcludedDir(f, 'node_modules/pkg/index.js')).toBe(true);
    expect(underExcludedDir(f, 'build/out.js')).toBe(true);
    expect(underExcludedDir(f, 'src/build.js')).toBe(false);
    expect(underExcludedDir(f, 'top.js')).toBe(false);
    expect(f.file('x.log')).toBe(false);
    expect(f.file('.x.log')).toBe(false); // dot: true
    expect(f.file('src/x.log')).toBe(false); // '*.log' has no slash: any depth, as rsync
    expect(f.file('src/x.js')).toBe(true);
  });

  it('always excludes smr temp files', () => {
    const f = makeFilter([], []);
    expect(f.file('.smr-tmp-abc-1')).toBe(false);
    expect(f.file('a/b/.smr-tmp-abc-1')).toBe(false);
    expect(f.file('.smr-tmp')).toBe(true);
    expect(f.file('.hidden')).toBe(true);
    expect(f.dir('.git')).toBe(true);
  });

  it('includes apply to files; directories are kept so includes reach into them', () => {
    const f = makeFilter(['**/*.js', 'docs/**'], ['**/secret*']);
    expect(f.file('a/b.js')).toBe(true);
    expect(f.file('x.js')).toBe(true);
    expect(f.file('.hidden/x.js')).toBe(true);
    expect(f.file('a/b.ts')).toBe(false);
    expect(f.file('docs/.env')).toBe(true);
    expect(f.dir('a')).toBe(true);
    expect(f.dir('a/b/c')).toBe(true);
    expect(f.file('docs/secret.md')).toBe(false); // exclude wins over include
    expect(f.dir('lib/secrets')).toBe(false);
    expect(underExcludedDir(f, 'lib/secrets/k.js')).toBe(true);
  });
});

describe('TaskTable', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-tasks-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const entry = (id: string): TaskEntry => ({
    id,
    on: 'execute',
    command: 'deploy',
    args: ['--fast'],
    timeoutMs: 0,
    seq: null,
    state: 'queued',
    exitCode: null,
    queuedAt: new Date(0).toISOString(),
    startedAt: null,
    endedAt: null,
    durationMs: null,
    outputTail: [],
  });

  it('moves states only forward and keeps final states', async () => {
    const t = await TaskTable.open(dir);
    await t.add(entry('t1'));
    expect(t.pending).toBe(1);
    await t.update('t1', { state: 'running', startedAt: 'x' });
    await t.update('t1', { state: 'sent', exitCode: 3 }); // late 'sent' must not go back
    expect(t.get('t1')?.state).toBe('running');
    expect(t.get('t1')?.exitCode).toBe(3); // the rest of the patch still applies
    await t.update('t1', { state: 'succeeded', exitCode: 0 });
    await t.update('t1', { state: 'failed', exitCode: 1 });
    await t.update('t1', { state: 'running' });
    expect(t.get('t1')).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(t.pending).toBe(0);
    await t.update('nope', { state: 'failed' }); // unknown ids are ignored
  });

  it('waitFinal resolves when the task ends', async () => {
    const t = await TaskTable.open(dir);
    await t.add(entry('t1'));
    const waiting = t.waitFinal('t1', 5000);
    setTimeout(() => void t.update('t1', { state: 'failed', exitCode: 2 }), 20);
    const done = await waiting;
    expect(done).toMatchObject({ id: 't1', state: 'failed', exitCode: 2 });
  });

  it('waitFinal times out, and refuses unknown tasks', async () => {
    const t = await TaskTable.open(dir);
    await t.add(entry('t1'));
    const start = Date.now();
    const err = await t.waitFinal('t1', 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmrError);
    expect((err as SmrError).code).toBe('timeout');
    expect(Date.now() - start).toBeGreaterThanOrEqual(50);
    const unknown = await t.waitFinal('zz', 60).catch((e: unknown) => e);
    expect((unknown as SmrError).code).toBe('unknown-task');
  });

  it('persists across open', async () => {
    const t = await TaskTable.open(dir);
    await t.add(entry('t1'));
    await t.add(entry('t2'));
    await t.setSeq('t1', 17);
    await t.update('t2', { state: 'timed-out', message: 'too slow' });
    const again = await TaskTable.open(dir);
    expect(again.list()).toEqual(t.list());
    expect(again.get('t1')?.seq).toBe(17);
    expect(again.get('t2')).toMatchObject({ state: 'timed-out', message: 'too slow' });
    expect(again.pending).toBe(1);
  });
});
