// Mirror modes against prepared target states, verify exit codes, orphans and the safety brake.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  smr,
  startSource,
  startTarget,
  tmp,
  waitMirrored,
  waitSynced,
  waitUntil,
  write,
  type Daemon,
  type TargetD,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes (so both trees can be rebuilt). */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let o = 0; o < n; o += block.length) {
    block.copy(out, o);
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

/** Runs `fn` and puts the file's mtime back, to the ns (fs.utimes keeps µs only). */
async function keepStat<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const ns = (await fsp.stat(file, { bigint: true })).mtimeNs;
  const r = await fn();
  const at = `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  execFileSync('touch', ['-m', '-d', at, file]);
  return r;
}

/** A source tree, synced to a target, then the source daemon stopped so the replica can be damaged. */
async function prepared(): Promise<{
  t: TargetD;
  s: Daemon;
  src: string;
  rep: string;
  sstate: string;
}> {
  const t = await startTarget();
  const sstate = await tmp('smr-sstate-');
  const s = await startSource(sstate);
  const src = await tmp('smr-src-');
  await write(path.join(src, 'missing.bin'), bytes(300_000, 'm'));
  await write(path.join(src, 'truncated.bin'), bytes(400_000, 't'));
  await write(path.join(src, 'extended.bin'), bytes(200_000, 'e'));
  await write(path.join(src, 'flipped.bin'), bytes(2 * MiB, 'f'));
  await write(path.join(src, 'sneaky.bin'), bytes(MiB, 's'));
  await write(path.join(src, 'inserted.bin'), bytes(3 * MiB, 'i'));
  await write(path.join(src, 'deleted.bin'), bytes(3 * MiB, 'd'));
  await write(path.join(src, 'dir', 'small.txt'), 'small');
  await connect(s, 'm', t, src);
  await waitSynced(s, 'm');
  return { t, s, src, rep: path.join(t.root, 'm'), sstate };
}

async function damage(rep: string): Promise<void> {
  await fsp.rm(path.join(rep, 'missing.bin'));
  await fsp.truncate(path.join(rep, 'truncated.bin'), 100_000);
  await fsp.appendFile(path.join(rep, 'extended.bin'), bytes(50_000, 'x'));
  const fh = await fsp.open(path.join(rep, 'flipped.bin'), 'r+');
  await fh.write(Buffer.from('FLIPPED'), 0, 7, MiB + 12345);
  await fh.close();
  // Same size, same mtime, different content: only checksum may see it.
  await keepStat(path.join(rep, 'sneaky.bin'), async () => {
    const f = await fsp.open(path.join(rep, 'sneaky.bin'), 'r+');
    await f.write(Buffer.from('SNEAKY'), 0, 6, 500_000);
    await f.close();
  });
  // Shifted data: 1000 bytes inserted near the start; 5000 bytes removed in the middle (target side
  // holds the shifted version, the source the original).
  const ins = await fsp.readFile(path.join(rep, 'inserted.bin'));
  await fsp.writeFile(
    path.join(rep, 'inserted.bin'),
    Buffer.concat([ins.subarray(0, 10_000), bytes(1000, 'ins'), ins.subarray(10_000)]),
  );
  const del = await fsp.readFile(path.join(rep, 'deleted.bin'));
  await fsp.writeFile(
    path.join(rep, 'deleted.bin'),
    Buffer.concat([del.subarray(0, MiB), del.subarray(MiB + 5000)]),
  );
}

async function status(
  s: Daemon,
  name = 'm',
): Promise<{
  sent: { bytes: number };
  mirror: { state: string };
  targetState: string;
  lastError: string | null;
  queue: { ops: number; bytes: number };
  lastCapturedSeq: number;
  lastAckedSeq: number;
}> {
  return (await smr(['status', name, '--json', '--state-dir', s.stateDir])).json;
}

describe('mirror, verify, orphans', () => {
  it('verify tells diff from checksum; a checksum mirror repairs everything sending little', async () => {
    const { s, src, rep } = await prepared();
    await damage(rep);
    const v1 = await smr(['verify', 'm', '--json', '--state-dir', s.stateDir]);
    expect(v1.code).toBe(4);
    const kinds = (p: string, r = v1): string[] =>
      r.json.differences
        .filter((d: { path: string }) => d.path === p)
        .map((d: { kind: string }) => d.kind);
    expect(kinds('missing.bin')).toEqual(['missing']);
    expect(kinds('truncated.bin')).toContain('size');
    expect(kinds('sneaky.bin')).toEqual([]); // diff cannot see it
    const v2 = await smr([
      'verify',
      'm',
      '--mode',
      'checksum',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(v2.code).toBe(4);
    expect(kinds('sneaky.bin', v2)).toEqual(['content']);
    const sneaky = v2.json.differences.find((d: { path: string }) => d.path === 'sneaky.bin');
    expect(sneaky.bytesOutOfSync).toBeLessThanOrEqual(8192);
    const before = (await status(s)).sent.bytes;
    const m = await smr([
      'mirror',
      'start',
      'm',
      '--mode',
      'checksum',
      '--wait',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.json.mirror.state).toBe('complete');
    const sent = (await status(s)).sent.bytes - before;
    // missing (300 KB) and the truncated tail (300 KB) must go; flipped and sneaky cost a block
    // each; inserted and deleted (shifted data, 6 MiB of files) cost a few blocks, not their size.
    expect(sent).toBeLessThan(700_000);
    await expectSameTree(src, rep);
    expect((await smr(['verify', 'm', '--mode', 'checksum', '--state-dir', s.stateDir])).code).toBe(
      0,
    );
  });

  it('a diff mirror at source start catches changes made while the daemon was down', async () => {
    const { s, src, rep, sstate } = await prepared();
    await s.stop();
    await write(path.join(src, 'while-down.txt'), 'new while down');
    await fsp.rm(path.join(src, 'dir', 'small.txt'));
    await fsp.appendFile(path.join(src, 'extended.bin'), 'more');
    const s2 = await startSource(sstate);
    await waitSynced(s2, 'm');
    const w = await waitMirrored(sstate, 'm');
    expect(w.code).toBe(0);
    // The restart mirror replays deletes made while the daemon was down (orphans go too).
    const v = await smr(['verify', 'm', '--mode', 'checksum', '--json', '--state-dir', sstate]);
    expect(v.json.differences).toEqual([]);
    expect(v.code).toBe(0);
    await expectSameTree(src, rep);
  });

  it('a source emptied while the daemon was down does not empty the replica on restart', async () => {
    const { s, src, rep, sstate } = await prepared();
    await s.stop();
    const before = (await fsp.readdir(rep)).sort();
    for (const n of await fsp.readdir(src)) await fsp.rm(path.join(src, n), { recursive: true });
    const s2 = await startSource(sstate);
    // The brake holds the deletions and says why; wait refuses to call that synced.
    await waitUntil(async () => (await status(s2)).targetState === 'error', 20_000, 'the brake');
    expect((await status(s2)).lastError).toMatch(/safety brake: .*empty or missing/);
    const w = await smr(['wait', 'm', '--timeout', '20s', '--state-dir', sstate]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/held by the safety brake/);
    expect((await fsp.readdir(rep)).sort()).toEqual(before);
    await s2.stop();
  });

  it('verify --fix repairs only what differs; refuses while a mirror runs', async () => {
    const { s, src, rep } = await prepared();
    await damage(rep);
    const f = await smr([
      'verify',
      'm',
      '--mode',
      'checksum',
      '--fix',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(f.code, f.stdout).toBe(0);
    expect(f.json.fixed).toBe(7);
    await expectSameTree(src, rep);
    await smr(['transmit', 'pause', 'm', '--state-dir', s.stateDir]);
    await smr(['mirror', 'start', 'm', '--mode', 'full', '--state-dir', s.stateDir]);
    const v = await smr(['verify', 'm', '--state-dir', s.stateDir]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/mirror/);
    await smr(['transmit', 'resume', 'm', '--state-dir', s.stateDir]);
  });

  it('mirror pause, resume and stop; full mode resends everything', async () => {
    const { s, src, rep } = await prepared();
    const before = (await status(s)).sent.bytes;
    await smr(['transmit', 'pause', 'm', '--state-dir', s.stateDir]);
    expect(
      (await smr(['mirror', 'start', 'm', '--mode', 'full', '--state-dir', s.stateDir])).code,
    ).toBe(0);
    expect((await smr(['mirror', 'pause', 'm', '--state-dir', s.stateDir])).code).toBe(0);
    expect((await status(s)).mirror.state).toBe('paused');
    await smr(['transmit', 'resume', 'm', '--state-dir', s.stateDir]);
    expect((await smr(['mirror', 'resume', 'm', '--state-dir', s.stateDir])).code).toBe(0);
    const w = await waitMirrored(s.stateDir, 'm');
    expect(w.code).toBe(0);
    expect((await status(s)).mirror.state).toBe('complete');
    expect((await status(s)).sent.bytes - before).toBeGreaterThan(10_000_000); // the whole tree again
    await expectSameTree(src, rep);
    expect((await smr(['mirror', 'resume', 'm', '--state-dir', s.stateDir])).code).toBe(2);
    await smr(['transmit', 'pause', 'm', '--state-dir', s.stateDir]);
    await smr(['mirror', 'start', 'm', '--mode', 'full', '--state-dir', s.stateDir]);
    expect((await smr(['mirror', 'stop', 'm', '--state-dir', s.stateDir])).code).toBe(0);
    expect((await status(s)).mirror.state).toBe('stopped');
    await smr(['transmit', 'resume', 'm', '--state-dir', s.stateDir]);
    await waitSynced(s, 'm');
    await expectSameTree(src, rep);
  });

  it('pause stops a big file between two of its parts; resume sends the rest, not all of it again', async () => {
    const { s, src, rep } = await prepared();
    await write(path.join(src, 'big.bin'), bytes(24 * MiB, 'big'));
    await waitSynced(s, 'm');
    const sentBefore = (await status(s)).sent.bytes;
    // Nothing is acknowledged while transmission is paused, so the mirror's whole-file send of
    // big.bin (first in scan order) waits between parts once 16 MiB are queued.
    await smr(['transmit', 'pause', 'm', '--state-dir', s.stateDir]);
    expect(
      (await smr(['mirror', 'start', 'm', '--mode', 'full', '--state-dir', s.stateDir])).code,
    ).toBe(0);
    let last = -1;
    await waitUntil(
      async () => {
        const q = (await status(s)).queue.bytes;
        const still = q === last && q > 0;
        last = q;
        return still;
      },
      20_000,
      'the mirror to wait for the queue',
    );
    expect(last).toBeGreaterThan(15 * MiB);
    expect(last).toBeLessThan(24 * MiB); // part of big.bin, not all of it
    expect((await smr(['mirror', 'pause', 'm', '--state-dir', s.stateDir])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const atPause = (await status(s)).lastCapturedSeq;
    // The queue drains; the paused mirror adds nothing, not even the rest of big.bin.
    await smr(['transmit', 'resume', 'm', '--state-dir', s.stateDir]);
    await waitUntil(async () => (await status(s)).lastAckedSeq === atPause, 20_000, 'the drain');
    await new Promise((r) => setTimeout(r, 300));
    const paused = await status(s);
    expect(paused.mirror.state).toBe('paused');
    expect(paused.lastCapturedSeq).toBe(atPause);
    expect((await smr(['mirror', 'resume', 'm', '--state-dir', s.stateDir])).code).toBe(0);
    const w = await waitMirrored(s.stateDir, 'm');
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect((await status(s)).mirror.state).toBe('complete');
    await expectSameTree(src, rep);
    // The tree once (about 34 MiB), not big.bin twice.
    const sent = (await status(s)).sent.bytes - sentBefore;
    expect(sent).toBeGreaterThan(33 * MiB);
    expect(sent).toBeLessThan(44 * MiB);
  });

  it('a file changing continuously during its own mirror ends equal', async () => {
    const { s, src, rep } = await prepared();
    const hot = path.join(src, 'flipped.bin');
    let stop = false;
    let n = 0;
    const writer = (async () => {
      const fh = await fsp.open(hot, 'r+');
      while (!stop) {
        // in-place rewrites at moving offsets, and the file grows now and then
        await fh.write(bytes(4096, `w${n}`), 0, 4096, (n * 7919 * 4096) % (2 * MiB));
        if (n % 10 === 0) await fh.write(bytes(1000, `g${n}`), 0, 1000, 2 * MiB + n * 100);
        n++;
        await new Promise((r) => setTimeout(r, 2));
      }
      await fh.close();
    })();
    for (const mode of ['checksum', 'full', 'diff']) {
      const m = await smr([
        'mirror',
        'start',
        'm',
        '--mode',
        mode,
        '--wait',
        '--state-dir',
        s.stateDir,
      ]);
      expect(m.code, m.stderr).toBe(0);
    }
    stop = true;
    await writer;
    expect(n).toBeGreaterThan(20);
    await waitSynced(s, 'm');
    await expectSameTree(src, rep);
    expect((await smr(['verify', 'm', '--mode', 'checksum', '--state-dir', s.stateDir])).code).toBe(
      0,
    );
  });

  it('a file the target loses before its block writes arrive is resent, even with replication off', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    await write(path.join(src, 'f.bin'), bytes(MiB, 'need'));
    await connect(s, 'n', t, src, ['--mirror', 'none', '--no-replicate']);
    expect(
      (await smr(['mirror', 'start', 'n', '--mode', 'full', '--wait', '--state-dir', s.stateDir]))
        .code,
    ).toBe(0);
    const fh = await fsp.open(path.join(src, 'f.bin'), 'r+');
    await fh.write(Buffer.alloc(4096, 7), 0, 4096, 8192);
    await fh.close();
    await fsp.utimes(path.join(src, 'f.bin'), new Date('2030-01-01'), new Date('2030-01-01'));
    await smr(['transmit', 'pause', 'n', '--state-dir', s.stateDir]);
    expect(
      (await smr(['mirror', 'start', 'n', '--mode', 'diff', '--state-dir', s.stateDir])).code,
    ).toBe(0);
    await waitUntil(
      async () => (await status(s, 'n')).queue.ops > 0,
      20_000,
      'the block writes to be queued',
    );
    await fsp.rm(path.join(t.root, 'n', 'f.bin')); // the basis goes before the writes arrive
    await smr(['transmit', 'resume', 'n', '--state-dir', s.stateDir]);
    expect((await waitMirrored(s.stateDir, 'n', '30s')).code).toBe(0);
    expect((await smr(['verify', 'n', '--mode', 'checksum', '--state-dir', s.stateDir])).code).toBe(
      0,
    );
  });

  it('orphans: lists, deletes, protects excluded files, and brakes before deleting most of the replica', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    for (let i = 0; i < 4; i++) await write(path.join(src, `keep${i}.txt`), `k${i}`);
    await connect(s, 'o', t, src, ['--exclude', '**/*.local']);
    await waitSynced(s, 'o');
    const rep = path.join(t.root, 'o');
    await write(path.join(rep, 'orphan.txt'), 'o');
    await write(path.join(rep, 'odir', 'deep.txt'), 'o');
    await write(path.join(rep, 'mine.local'), 'protected by the exclude rule');
    const l = await smr(['orphans', 'o', '--json', '--state-dir', s.stateDir]);
    expect(l.code).toBe(0);
    expect(l.json.orphans.map((x: { path: string }) => x.path)).toEqual([
      'odir',
      'odir/deep.txt',
      'orphan.txt',
    ]);
    expect((await smr(['orphans', 'o', '--delete', '--state-dir', s.stateDir])).code).toBe(0);
    await expect(fsp.access(path.join(rep, 'orphan.txt'))).rejects.toThrow();
    await expect(fsp.access(path.join(rep, 'odir'))).rejects.toThrow();
    expect(await fsp.readFile(path.join(rep, 'mine.local'), 'utf8')).toMatch(/protected/);
    // More than half of the replica would go: refused without --force.
    for (let i = 0; i < 6; i++) await write(path.join(rep, `extra${i}.txt`), 'x');
    const brake = await smr(['orphans', 'o', '--delete', '--state-dir', s.stateDir]);
    expect(brake.code).toBe(2);
    expect(brake.stderr).toMatch(/refusing/);
    expect((await fsp.readdir(rep)).length).toBe(11);
    const forced = await smr([
      'orphans',
      'o',
      '--delete',
      '--force',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(forced.code).toBe(0);
    expect(forced.json.deleted).toBe(6);
  });

  it('mirror --delete-orphans stops at the brake: exit 2 with its line, orphans kept, until --force', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    for (let i = 0; i < 4; i++) await write(path.join(src, `keep${i}.txt`), `k${i}`);
    await connect(s, 'mo', t, src);
    await waitSynced(s, 'mo');
    const rep = path.join(t.root, 'mo');
    for (let i = 0; i < 6; i++) await write(path.join(rep, `extra${i}.txt`), 'x');
    await write(path.join(src, 'new.txt'), 'sent by the mirror all the same');
    const sd = ['--state-dir', s.stateDir];
    const m = await smr(['mirror', 'start', 'mo', '--delete-orphans', '--wait', ...sd]);
    expect(m.code, m.stdout + m.stderr).toBe(2);
    const line = /orphans not deleted: deleting 6 of 1\d target entries is more than 50%/;
    expect(m.stderr).toMatch(line);
    expect(m.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect((await fsp.readdir(rep)).sort()).toEqual(
      [
        ...[0, 1, 2, 3].map((i) => `keep${i}.txt`),
        'new.txt',
        ...[0, 1, 2, 3, 4, 5].map((i) => `extra${i}.txt`),
      ].sort(),
    );
    // A mirror started without --wait: `wait --for mirrored` says the same.
    expect((await smr(['mirror', 'start', 'mo', '--delete-orphans', ...sd])).code).toBe(0);
    const w = await waitMirrored(s.stateDir, 'mo');
    expect(w.code, w.stdout + w.stderr).toBe(2);
    expect(w.stderr).toMatch(line);
    expect((await fsp.readdir(rep)).length).toBe(11);
    const f = await smr(['mirror', 'start', 'mo', '--delete-orphans', '--force', '--wait', ...sd]);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    await expectSameTree(src, rep);
  });
});
