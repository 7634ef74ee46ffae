// A target whose disk fills up (or turns read-only) in the middle of replication, on a real small
// file system: the source's status says so with what to do, for the whole outage; `wait` never
// says synced meanwhile; both logs say it; nothing is dropped, and once the disk is usable again
// everything converges by itself (an independent tree comparison finds no difference).
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  sleep,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  waitUntil,
  write,
  type Daemon,
} from '../helpers/harness.js';
import { mountSmallFs, smallFsUnavailable, type SmallFs } from '../helpers/small-fs.js';

afterEach(cleanupAll);

const unavailable = await smallFsUnavailable();
if (unavailable) console.log(`disk-full tests skipped: ${unavailable}`);

/**
 * Samples `status` for `ms`, and at least 4 times however slow the machine is (one `smr status`
 * took over 2 s under a load of 20): every sample must show the target in error with `message`.
 */
async function errorThroughout(src: Daemon, message: RegExp, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let samples = 0;
  while (Date.now() < end || samples < 4) {
    const st = await status(src, 'web');
    expect({ targetState: st.targetState, lastError: st.lastError }).toEqual({
      targetState: 'error',
      lastError: expect.stringMatching(message),
    });
    samples++;
    await sleep(150);
  }
  return samples;
}

/** `wait` over the outage: must not say synced (exit 6, timed out, naming the fault). */
async function waitRefuses(src: Daemon, message: RegExp): Promise<void> {
  const w = await smr(['wait', 'web', '--timeout', '3s', '--state-dir', src.stateDir]);
  expect(w.code, w.stdout + w.stderr).toBe(6);
  expect(w.stderr).toMatch(message);
}

/** A target on `fs`, a source replicating a directory into it, synced once. */
async function replicateInto(fs: SmallFs) {
  const t = await startTarget({ root: path.join(fs.dir, 'r') });
  const src = await startSource();
  const dir = await tmp('smr-src-');
  await write(path.join(dir, 'seed.txt'), 'before the disk filled up\n');
  await connect(src, 'web', t, dir);
  await waitSynced(src, 'web');
  // The replica's path as the target names it (its root resolved).
  const base = path.join(await fsp.realpath(t.root), 'web');
  return { t, src, dir, base };
}

describe.skipIf(unavailable !== null)('a target disk that fills up or turns read-only', () => {
  it('ENOSPC mid-replication: error in status throughout, wait never 0, converges once freed', async () => {
    const fs = await mountSmallFs(16);
    console.log(`disk-full test on ${fs.kind}`);
    const { t, src, dir, base } = await replicateInto(fs);
    // Leave the replica about 600 KiB, then send it 3 MiB that does not compress.
    const filler = path.join(fs.dir, 'filler');
    await fsp.writeFile(filler, Buffer.alloc(Math.max(0, (await fs.freeBytes()) - 600 * 1024)));
    for (let i = 0; i < 12; i++)
      await write(path.join(dir, 'data', `f${i}.bin`), crypto.randomBytes(256 * 1024));
    const noSpace = new RegExp(
      `^target: no space left on ${base.replace(/[/.]/g, '\\$&')} \\(seq \\d+\\): free space there`,
    );
    await waitUntil(
      async () => (await status(src, 'web')).targetState === 'error',
      30_000,
      'the source to show the target in error',
    );
    const samples = await errorThroughout(src, noSpace, 2500);
    await waitRefuses(src, /no space left on/);
    await errorThroughout(src, noSpace, 500);
    expect(samples).toBeGreaterThan(3);
    expect(t.log()).toMatch(/web@.*: no space left on .* free space there/);
    expect(src.log()).toMatch(/link web: target: no space left on /);
    // Part of the data landed before the disk filled: it was mid-replication.
    expect((await fsp.readdir(path.join(base, 'data')).catch(() => [])).length).toBeGreaterThan(0);

    await fsp.rm(filler);
    await waitSynced(src, 'web', '90s');
    await expectSameTree(dir, base);
    const st = await status(src, 'web');
    expect({ targetState: st.targetState, lastError: st.lastError }).toEqual({
      targetState: 'ok',
      lastError: null,
    });
    expect(st.lastAckedSeq).toBe(st.lastCapturedSeq);
    expect(src.log()).toMatch(/link web: the target applies again/);
    // And it goes on replicating as before.
    await write(path.join(dir, 'after.txt'), 'after');
    await waitSynced(src, 'web');
    await expectSameTree(dir, base);
  }, 150_000);

  it('EROFS: a replica remounted read-only is an error until it is writable again', async () => {
    const fs = await mountSmallFs(16);
    const { src, t, dir, base } = await replicateInto(fs);
    await fs.remount('ro');
    await write(path.join(dir, 'while-ro.txt'), 'written while the replica was read-only\n');
    await fsp.rename(path.join(dir, 'seed.txt'), path.join(dir, 'renamed.txt'));
    const readOnly = /^target: .* is on a read-only file system \(seq \d+\): remount it read-write/;
    await waitUntil(
      async () => (await status(src, 'web')).targetState === 'error',
      30_000,
      'the source to show the target in error',
    );
    await errorThroughout(src, readOnly, 1500);
    await waitRefuses(src, /read-only file system/);
    expect(t.log()).toMatch(/read-only file system/);
    await fs.remount('rw');
    await waitSynced(src, 'web', '90s');
    await expectSameTree(dir, base);
    expect((await status(src, 'web')).targetState).toBe('ok');
  }, 150_000);
});
