// The source's queue is bounded (issue 17): at `connect --queue-limit`, or when the disk under the
// journal fills up, capture stops, status says remirror-required with what happened, `wait` never
// says synced, and once the target is back and the queue drained the source remirrors by itself.
// Each case ends in an independent tree comparison with no difference, and keeps replicating.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  restartTarget,
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
  type TargetD,
} from '../helpers/harness.js';
import { mountSmallFs, smallFsUnavailable } from '../helpers/small-fs.js';
import { RESERVE_BYTES } from '../../src/source/space-reserve.js';
import { sized } from '../helpers/scale.js';

afterEach(cleanupAll);

const MiB = 1024 * 1024;
/**
 * 3 MiB writes of random data in an outage (test/helpers/scale.ts): npm test's, then test:long's.
 * 16 (48 MiB) still exceed the smallest --queue-limit (32 MiB) by more than the journal's largest
 * batch (8 MiB), and the 40 MiB file system of the disk-full case.
 */
const WRITES = sized(16, 24);
const unavailable = await smallFsUnavailable();
if (unavailable) console.log(`source disk-full test skipped: ${unavailable}`);

/** Bytes of every file under `dir` (what the journal takes on disk). */
async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await fsp.stat(path.join(e.parentPath, e.name))).size;
  return n;
}

/** Writes `files` files of `size` random bytes under `dir/data` while sampling the source. */
async function churn(dir: string, files: number, size: number, sample: () => Promise<void>) {
  for (let i = 0; i < files; i++) {
    await write(path.join(dir, 'data', `f${i % 12}.bin`), crypto.randomBytes(size));
    await sample();
  }
}

/** The outage's checks: remirror-required with `why` on every sample, and `wait` refuses. */
async function stoppedThroughout(src: Daemon, why: RegExp): Promise<void> {
  await waitUntil(
    async () => (await status(src, 'web')).targetState === 'remirror-required',
    60_000,
    'the source to mark the target remirror-required',
  );
  for (let i = 0; i < 8; i++) {
    const st = await status(src, 'web');
    expect({ targetState: st.targetState, lastError: st.lastError }).toEqual({
      targetState: 'remirror-required',
      lastError: expect.stringMatching(why),
    });
    await sleep(100);
  }
  const w = await smr(['wait', 'web', '--timeout', '2s', '--state-dir', src.stateDir]);
  expect(w.code, w.stdout + w.stderr).toBe(6);
  expect(w.stderr).toMatch(new RegExp(why.source.replace(/^\^/, '')));
}

/** The target back: the queue drains, the remirror runs by itself, and the trees are equal. */
async function convergesAfter(src: Daemon, t: TargetD, dir: string): Promise<void> {
  const t2 = await restartTarget(t);
  await waitSynced(src, 'web', '180s');
  const base = path.join(await fsp.realpath(t2.root), 'web');
  await expectSameTree(dir, base);
  const st = await status(src, 'web');
  expect({ targetState: st.targetState, lastError: st.lastError }).toEqual({
    targetState: 'ok',
    lastError: null,
  });
  expect(src.log()).toMatch(/web: the queue takes changes again; remirroring/);
  // And live replication goes on.
  await write(path.join(dir, 'after.txt'), 'after the remirror\n');
  await waitSynced(src, 'web');
  await expectSameTree(dir, base);
}

/** A source tree with a few files, replicated once into a fresh target. */
async function replicated(src: Daemon, extra: string[]) {
  const t = await startTarget();
  const dir = await tmp('smr-src-');
  await write(path.join(dir, 'keep.txt'), 'kept\n');
  await write(path.join(dir, 'gone.txt'), 'deleted during the outage\n');
  await write(path.join(dir, 'old-name.txt'), 'renamed during the outage\n');
  await connect(src, 'web', t, dir, extra);
  await waitSynced(src, 'web');
  return { t, dir };
}

describe('a bounded queue', () => {
  it('stops at --queue-limit, says so, never exceeds it by more than a batch, and remirrors by itself', async () => {
    const limit = 32 * MiB;
    const batch = 8 * MiB; // the journal's largest write batch
    const src = await startSource();
    const { t, dir } = await replicated(src, ['--queue-limit', '32MiB']);
    expect((await status(src, 'web')).queue.limit).toBe(limit);
    await t.stop();
    const journal = path.join(src.stateDir, 'connections', 'web', 'journal');
    let peak = 0;
    let peakDisk = 0;
    const sample = async (): Promise<void> => {
      const st = await status(src, 'web');
      peak = Math.max(peak, st.queue.bytes);
      peakDisk = Math.max(peakDisk, await duBytes(journal));
    };
    // WRITES x 3 MiB of random data rewritten over 12 files: more than the limit and a batch.
    expect(WRITES * 3 * MiB).toBeGreaterThan(limit + batch);
    await churn(dir, WRITES, 3 * MiB, sample);
    await fsp.rm(path.join(dir, 'gone.txt'));
    await fsp.rename(path.join(dir, 'old-name.txt'), path.join(dir, 'new-name.txt'));
    await write(path.join(dir, 'while-stopped.txt'), 'written while the queue was stopped\n');
    await stoppedThroughout(
      src,
      /queue of web reached its limit \(32(\.0)? MiB.*remirrors \(diff\)/,
    );
    await sample();
    console.log(
      `queue limit: peak queue ${(peak / MiB).toFixed(1)} MiB, journal on disk ${(peakDisk / MiB).toFixed(1)} MiB (limit 32 MiB)`,
    );
    expect(peak).toBeGreaterThanOrEqual(limit - batch); // it really filled up
    expect(peak).toBeLessThanOrEqual(limit + batch);
    expect(peakDisk).toBeLessThanOrEqual(limit + batch + 1 * MiB); // + what was acked before
    expect(src.log().match(/reached its limit/g)).toHaveLength(1); // logged once, not per change
    await convergesAfter(src, t, dir);
  }, 300_000);

  it('refuses a --queue-limit below 32 MiB, recording nothing', async () => {
    const src = await startSource();
    const t = await startTarget();
    const dir = await tmp('smr-src-');
    const args = ['connect', 'web', '--to', t.addr, '--path', dir, '--state-dir', src.stateDir];
    const r = await smr([...args, '--key-file', t.keyFile as string, '--queue-limit', '1MiB']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--queue-limit 1(\.0)? MiB is too small.*at least 32(\.0)? MiB/);
    const s = await smr(['status', '--json', '--state-dir', src.stateDir]);
    expect(JSON.parse(s.stdout).connections).toEqual([]);
  }, 60_000);
});

// The index (issue 10) shares the state dir's disk with the journal: once that disk is full, the
// acks could not be recorded and the queue never drained, until the connection's space reserve
// (src/source/space-reserve.ts) gave it room.
describe.runIf(unavailable === null)('a full disk under the source queue', () => {
  it('ENOSPC on the journal: remirror-required throughout, wait never 0, converges by remirror', async () => {
    const fs = await mountSmallFs(40, 'tmpfs');
    const src = await startSource(path.join(fs.dir, 'state'));
    // A limit far above the disk: it is the disk that fills.
    const { t, dir } = await replicated(src, ['--queue-limit', '1GiB']);
    await t.stop();
    await churn(dir, WRITES, 3 * MiB, async () => undefined);
    await fsp.rm(path.join(dir, 'gone.txt'));
    await fsp.rename(path.join(dir, 'old-name.txt'), path.join(dir, 'new-name.txt'));
    await stoppedThroughout(src, /^source: no space left for the queue of web: free space/);
    // The disk filled up; then the connection's reserve was given back so acks can be recorded.
    const reserve = path.join(src.stateDir, 'connections', 'web', 'space-reserve');
    expect(await fsp.stat(reserve).catch(() => null)).toBeNull();
    expect(await fs.freeBytes()).toBeLessThan(RESERVE_BYTES + 4 * MiB);
    await convergesAfter(src, t, dir);
    // It resumed on a journal emptied when the queue had drained (the failed one was reset),
    // and took its reserve again for the next time.
    expect(src.log()).toMatch(/web: the queue takes changes again/);
    expect((await fsp.stat(reserve)).size).toBe(RESERVE_BYTES);
  }, 300_000);
});
