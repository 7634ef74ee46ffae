// --dry-run of mirror start, orphans --delete and verify --fix: with N differences between a
// source and its replica, the dry run lists exactly those N, changes nothing on either side
// (checked by an independent attribute walk), and the real run then changes exactly the paths
// it listed.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attrDiff, attrWalk, changedPaths } from '../helpers/attr-walk.js';
import {
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

type Item = { path: string; action: string; attrs: string[]; bytes: number; line: string };

async function prepared(): Promise<{ state: string; src: string; rep: string }> {
  const t = await startTarget();
  const s = await startSource();
  const src = await tmp('smr-src-');
  await write(path.join(src, 'gone.txt'), 'gone\n');
  await write(path.join(src, 'short.bin'), Buffer.alloc(100_000, 7));
  await write(path.join(src, 'mode.txt'), 'mode\n');
  await write(path.join(src, 'old.txt'), 'old\n');
  await write(path.join(src, 'same.txt'), 'same\n');
  await write(path.join(src, 'd', 'deep.txt'), 'deep\n');
  await fsp.symlink('same.txt', path.join(src, 'link'));
  await connect(s, 'm', t, src);
  await waitSynced(s, 'm');
  const rep = path.join(t.root, 'm');
  // Six differences, made on the replica (the source captures none of them).
  await fsp.rm(path.join(rep, 'gone.txt'));
  await fsp.truncate(path.join(rep, 'short.bin'), 1000);
  await fsp.chmod(path.join(rep, 'mode.txt'), 0o600);
  await fsp.utimes(path.join(rep, 'old.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  await fsp.unlink(path.join(rep, 'link'));
  await fsp.symlink('elsewhere', path.join(rep, 'link'));
  await write(path.join(rep, 'orphan.txt'), 'only on the target\n');
  return { state: s.stateDir, src, rep };
}

const byPath = (items: Item[]): Record<string, string> =>
  Object.fromEntries(items.map((i) => [i.path, i.action]));

describe('--dry-run', () => {
  it('mirror start lists exactly the differences, changes nothing, and the real run does just that', async () => {
    const { state, src, rep } = await prepared();
    const before = { src: await attrWalk(src), rep: await attrWalk(rep) };
    const dry = await smr(['mirror', 'start', 'm', '--dry-run', '--json', '--state-dir', state]);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.json.dryRun).toBe(true);
    expect(byPath(dry.json.items)).toEqual({
      'gone.txt': 'create',
      'short.bin': 'update',
      'mode.txt': 'update',
      'old.txt': 'update',
      link: 'update',
      'orphan.txt': 'skip',
    });
    expect(dry.json.counts).toEqual({ create: 1, update: 4, delete: 0, skip: 1 });
    const item = (p: string): Item => dry.json.items.find((i: Item) => i.path === p);
    expect(item('mode.txt').attrs).toContain('mode');
    expect(item('old.txt').attrs).toEqual(['mtime']);
    expect(item('short.bin').attrs).toEqual(expect.arrayContaining(['size', 'mtime']));
    expect(item('gone.txt').line).toBe('<f+++++++++ gone.txt  (5 B)');
    expect(
      item('mode.txt').line.startsWith('<f...p.....') ||
        item('mode.txt').line.startsWith('.f...p.....'),
    ).toBe(true);
    // Nothing changed, on either side.
    expect(changedPaths(before.src, await attrWalk(src))).toEqual([]);
    expect(changedPaths(before.rep, await attrWalk(rep))).toEqual([]);
    // The human form: a summary, then one itemized line per path.
    const text = await smr(['mirror', 'start', 'm', '--dry-run', '--state-dir', state]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /dry run of mirror \(diff\), nothing changed: 1 to create, 4 to update/,
    );
    expect(lines).toHaveLength(7);
    expect(lines).toContain('<f+++++++++ gone.txt  (5 B)');
    // The real run changes exactly the paths listed to create or update.
    const real = await smr(['mirror', 'start', 'm', '--wait', '--json', '--state-dir', state]);
    expect(real.code, real.stdout + real.stderr).toBe(0);
    const after = await attrWalk(rep);
    const us = { src: await attrWalk(src, { us: true }), rep: await attrWalk(rep, { us: true }) };
    expect(changedPaths(before.rep, after)).toEqual([
      'gone.txt',
      'link',
      'mode.txt',
      'old.txt',
      'short.bin',
    ]);
    expect(attrDiff(us.src, us.rep)).toEqual(['orphan.txt: only in the second']);
  });

  it('with --delete-orphans, orphans --delete and verify --fix list what they would do', async () => {
    const { state, src, rep } = await prepared();
    const before = { src: await attrWalk(src), rep: await attrWalk(rep) };
    const del = await smr([
      'mirror',
      'start',
      'm',
      '--delete-orphans',
      '--dry-run',
      '--json',
      '--state-dir',
      state,
    ]);
    expect(del.code).toBe(0);
    expect(byPath(del.json.items)['orphan.txt']).toBe('delete');
    const o = await smr(['orphans', 'm', '--delete', '--dry-run', '--json', '--state-dir', state]);
    expect(o.code).toBe(0);
    expect(o.json.items.map((i: Item) => [i.path, i.action])).toEqual([['orphan.txt', 'delete']]);
    expect(o.json.items[0].line).toBe('*deleting   orphan.txt');
    // Past the brake (0%): the real run would be refused, so the dry run exits 2 and says why.
    const brake = await smr([
      'orphans',
      'm',
      '--delete',
      '--dry-run',
      '--max-delete-percent',
      '0',
      '--json',
      '--state-dir',
      state,
    ]);
    expect(brake.code).toBe(2);
    expect(brake.json.refused).toMatch(/refusing to delete orphans/);
    const v = await smr(['verify', 'm', '--fix', '--dry-run', '--json', '--state-dir', state]);
    expect(v.code).toBe(0);
    expect(byPath(v.json.items)).toEqual({
      'gone.txt': 'create',
      'short.bin': 'update',
      'mode.txt': 'update',
      'old.txt': 'update',
      link: 'update',
      'orphan.txt': 'skip',
    });
    expect(changedPaths(before.src, await attrWalk(src))).toEqual([]);
    expect(changedPaths(before.rep, await attrWalk(rep))).toEqual([]);
    // The real orphans --delete then deletes exactly what its dry run listed.
    const real = await smr(['orphans', 'm', '--delete', '--json', '--state-dir', state]);
    expect(real.code).toBe(0);
    expect(changedPaths(before.rep, await attrWalk(rep))).toEqual(['orphan.txt']);
  });

  it('--dry-run goes with mirror start only', async () => {
    const { state } = await prepared();
    const r = await smr(['mirror', 'stop', 'm', '--dry-run', '--state-dir', state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dry-run goes with mirror start/);
  });
});
