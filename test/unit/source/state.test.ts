// Source-side state: path filters and the persisted task table (what the target is known to hold
// is the index's: test/unit/index-*.test.ts, and the ledger's: ledger.test.ts).
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { makeFilter, underExcludedDir } from '../../../src/source/filter.js';
import { TaskTable, type TaskEntry } from '../../../src/source/task-table.js';

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
