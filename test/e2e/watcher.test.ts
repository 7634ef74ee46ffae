// The watcher backends end to end: `connect --watcher`, directory moves and new directories with
// each backend, changes during the watcher's initial scan, and an inotify queue overflow. Most
// checks wait for the replica to converge by polling it, not with `smr wait`: that verb's barrier
// rescans the tree and would find by itself what the watcher missed.
import { promises as fsp, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diffDigests, treeDigest } from '../../src/shared/tree-digest.js';
import {
  cleanupAll,
  connect,
  expectSameTree,
  sleep,
  smr,
  startSource,
  startTarget,
  startWriter,
  status,
  tmp,
  waitSynced,
  waitUntil,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** Waits until `replica` equals `dir` (independent walk), without asking smr for a barrier. */
async function converges(dir: string, replica: string, timeoutMs = 60_000): Promise<void> {
  let last: string[] = [];
  try {
    await waitUntil(
      async () => {
        last = diffDigests(await treeDigest(dir), await treeDigest(replica).catch(() => new Map()));
        return last.length === 0;
      },
      timeoutMs,
      'the replica to converge',
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n  ${last.slice(0, 20).join('\n  ')}`);
  }
}

describe('watcher backends', () => {
  it('records --watcher with the connection (native by default) and refuses an unknown one', async () => {
    const t = await startTarget();
    let s = await startSource();
    const a = await tmp('smr-src-');
    const b = await tmp('smr-src-');
    for (const d of ['x', 'x/y', 'z']) await fsp.mkdir(path.join(a, d));
    await connect(s, 'a', t, a);
    await connect(s, 'b', t, b, ['--watcher', 'chokidar']);
    const sa = await status(s, 'a');
    expect(sa.watcher).toMatchObject({
      backend: 'native',
      watchedDirs: 4,
      unwatched: 0,
      missed: 0,
    });
    expect((await status(s, 'b')).watcher).toMatchObject({ backend: 'chokidar' });
    const bad = await smr([
      'connect',
      'c',
      '--to',
      t.addr,
      '--path',
      a,
      '--watcher',
      'fsevents',
      '--state-dir',
      s.stateDir,
      ...(t.keyFile ? ['--key-file', t.keyFile] : []),
    ]);
    expect(bad.code).toBe(2);
    await s.stop();
    s = await startSource(s.stateDir);
    expect((await status(s, 'a')).watcher.backend).toBe('native');
    expect((await status(s, 'b')).watcher.backend).toBe('chokidar');
  });

  for (const backend of ['native', 'chokidar']) {
    it(`${backend}: new directories, renames and directory moves reach the target`, async () => {
      const t = await startTarget();
      const s = await startSource();
      const dir = await tmp('smr-src-');
      const outside = await tmp('smr-outside-');
      await write(path.join(dir, 'keep/sub/a.txt'), 'a');
      await write(path.join(dir, 'file.txt'), 'f');
      await connect(s, 'w', t, dir, ['--watcher', backend]);
      await waitSynced(s, 'w');
      const replica = path.join(t.root, 'w');
      // Deep new directories with a file each, written before any watch below can exist.
      for (let i = 0; i < 20; i++) await write(path.join(dir, `n${i}/a/b/c/f.txt`), `n${i}`);
      // A file renamed, a directory moved, moved again, and a new directory under its old name.
      await fsp.rename(path.join(dir, 'file.txt'), path.join(dir, 'renamed.txt'));
      await fsp.rename(path.join(dir, 'keep'), path.join(dir, 'moved'));
      await converges(dir, replica);
      await write(path.join(dir, 'moved/sub/after-move.txt'), 'seen under the new name');
      await fsp.mkdir(path.join(dir, 'n0/into'));
      await fsp.rename(path.join(dir, 'moved'), path.join(dir, 'n0/into/moved2'));
      await fsp.mkdir(path.join(dir, 'moved'));
      await converges(dir, replica);
      await write(path.join(dir, 'n0/into/moved2/sub/later.txt'), 'later');
      await write(path.join(dir, 'moved/new.txt'), 'new');
      // A tree moved in from outside the source path: everything in it, and changes after.
      await write(path.join(outside, 'o1/o2/old.txt'), 'old');
      await fsp.rename(path.join(outside, 'o1'), path.join(dir, 'o1'));
      await converges(dir, replica);
      await write(path.join(dir, 'o1/o2/new.txt'), 'new');
      await converges(dir, replica);
      expect((await status(s, 'w')).watcher.backend).toBe(backend);
    });
  }

  it('loses nothing changed while the watcher does its initial scan', async () => {
    const t = await startTarget();
    let s = await startSource();
    const dir = await tmp('smr-src-');
    for (let i = 0; i < 300; i++) await write(path.join(dir, `d${i}/s/f.txt`), `${i}`);
    await connect(s, 'w', t, dir);
    await waitSynced(s, 'w');
    await s.stop();
    // The writer runs across the source's start: its watcher scan and its restart mirror.
    const writer = startWriter(dir, { seed: 13, durationMs: 4000, maxBigBytes: 0 });
    await sleep(300);
    s = await startSource(s.stateDir);
    await writer.done;
    await converges(dir, path.join(t.root, 'w'));
    expect((await status(s, 'w')).watcher.missed).toBe(0);
  });

  it('an inotify queue overflow is logged, counted and rescanned: nothing is lost', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'busy/first.txt'), 'x');
    // Older than the watcher by more than a second, so capture does not list it again by itself
    // (it does for new directories: see RELIST_AFTER_MS), which would find the files on its own.
    await sleep(1100);
    await connect(s, 'w', t, dir);
    await waitSynced(s, 'w');
    const replica = path.join(t.root, 'w');
    // While the source is stopped nobody reads its inotify queue. Files created and deleted again
    // fill it (two events each, nothing to replicate); the kernel then drops every event after, those
    // of the files that stay included.
    const limit = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
    expect(limit, 'fs.inotify.max_queued_events is too large for this test').toBeLessThan(
      1_000_000,
    );
    const pid = s.proc.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < limit / 2 + 100; i++) {
        const junk = path.join(dir, 'busy', `junk-${i}`);
        writeFileSync(junk, '');
        unlinkSync(junk);
      }
      for (let i = 0; i < 300; i++) writeFileSync(path.join(dir, 'busy', `f${i}.txt`), `file ${i}`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await converges(dir, replica);
    const w = (await status(s, 'w')).watcher;
    expect(w.missed).toBeGreaterThanOrEqual(1);
    expect(w.rescans).toBeGreaterThanOrEqual(1);
    expect(s.log()).toMatch(/event queue may have overflowed; rescanning the tree/);
    await expectSameTree(dir, replica);
  });
});
