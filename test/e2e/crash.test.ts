// Crashes and cuts mid-stream: kill -9 of either daemon, and dropped TCP links, while a writer keeps
// changing the source tree. After recovery the replica must equal the source byte for byte.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FRAME,
  cleanupAll,
  connect,
  expectSameTree,
  prng,
  sleep,
  startProxy,
  startSource,
  startTarget,
  restartTarget,
  startWriter,
  status,
  tmp,
  treeBytes,
  waitSynced,
  waitSyncedPastBrake,
  waitUntil,
  write,
  type Daemon,
  type TargetD,
} from '../helpers/harness.js';
import { sized } from '../helpers/scale.js';

afterEach(cleanupAll);

const MiB = 1024 * 1024;
// Each run picks new timings; the seed is in every failure message so a run can be replayed.
const BASE_SEED = Number(process.env.SMR_CRASH_SEED ?? Math.floor(Math.random() * 1e6));
/**
 * Kill rounds of the first two tests (test/helpers/scale.ts): npm test's, then test:long's. Two
 * still give the target test one round whose writer ends while the target is down and one whose
 * writer goes on through the restart.
 */
const ROUNDS = sized(2, 3);

/** With SMR_TEST_VERBOSE=1 (daemons log every queued and applied op), keeps a failed run's logs. */
async function keepLogs(seed: number, logs: string[]): Promise<void> {
  if (!process.env.SMR_TEST_VERBOSE) return;
  const file = path.join(os.tmpdir(), `smr-crash-${seed}.log`);
  await fsp.writeFile(file, logs.join('\n'));
  process.stderr.write(`logs of the failed run: ${file}\n`);
}

async function seedTree(dir: string, bigFiles: number, bigSize: number): Promise<void> {
  for (let i = 0; i < bigFiles; i++)
    await write(path.join(dir, 'big', `b${i}.bin`), crypto.randomBytes(bigSize));
  for (let i = 0; i < 30; i++)
    await write(path.join(dir, `s${i % 4}`, `small${i}.txt`), `small file ${i}\n`.repeat(i + 1));
}

describe('crash recovery', () => {
  it(
    'kill -9 of the source mid-stream, restarted on the same state dir, loses nothing',
    { timeout: 120_000 },
    async () => {
      const t = await startTarget();
      let s = await startSource();
      const dir = await tmp('smr-src-');
      await seedTree(dir, 2, 2 * MiB);
      await connect(s, 'web', t, dir);
      await waitSynced(s, 'web');
      const replica = path.join(t.root, 'web');
      const logs: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const seed = BASE_SEED + round;
        const rnd = prng(seed);
        const ctx = `seed ${seed}, round ${round}`;
        const w = startWriter(dir, { seed, durationMs: 2500, maxBigBytes: 8 * MiB });
        await sleep(200 + rnd() * 1500);
        await s.kill();
        logs.push(`=== source ===\n${s.log()}`);
        await sleep(rnd() * 800); // the writer goes on while the source is down
        s = await startSource(s.stateDir);
        await w.done;
        try {
          await waitSyncedPastBrake(s, 'web', '40s');
          await expectSameTree(dir, replica);
        } catch (err) {
          await keepLogs(seed, [
            ...logs,
            `=== source ===\n${s.log()}`,
            `=== target ===\n${t.log()}`,
          ]);
          throw new Error(`${ctx}: ${(err as Error).message}`);
        }
        const st = await status(s, 'web');
        expect(st.lastAckedSeq, ctx).toBe(st.lastCapturedSeq);
        expect(st.targetState, ctx).toBe('ok');
      }
    },
  );

  it('kill -9 of the target mid-stream: the source reconnects by itself and resumes without a remirror', async () => {
    let t: TargetD = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await seedTree(dir, 24, 2 * MiB); // 48 MiB: a remirror or a resend would show in sent.bytes
    const initialBytes = await treeBytes(dir);
    await connect(s, 'web', t, dir, ['--mirror', 'full']);
    await waitSynced(s, 'web', '40s');
    const replica = path.join(t.root, 'web');
    await expectSameTree(dir, replica);
    const first = await status(s, 'web');
    expect(first.mirror.state).toBe('complete');
    expect(first.mirror.mode).toBe('full');
    for (let round = 0; round < ROUNDS; round++) {
      const seed = BASE_SEED + 100 + round;
      const rnd = prng(seed);
      const ctx = `seed ${seed}, round ${round}`;
      const before = await status(s, 'web');
      // Small files only from the writer (the burst below is the large one, so sent.bytes stays
      // telling); it runs on for a second or more while the target is down.
      const w = startWriter(dir, { seed, durationMs: 3000, maxBigBytes: 0 });
      await sleep(200 + rnd() * 500);
      // A burst that is still streaming when the target freezes (it stops reading, so the
      // source's socket fills up) and then dies.
      await write(path.join(dir, `burst-${round}.bin`), crypto.randomBytes(4 * MiB));
      await sleep(50 + rnd() * 150);
      t.proc.kill('SIGSTOP');
      await sleep(300);
      await t.kill();
      // Watch the source while the target is away and back: it must never start over.
      const seen: Array<{ mirror: string; mode: string; targetState: string }> = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const st = await status(s, 'web');
          seen.push({ mirror: st.mirror.state, mode: st.mirror.mode, targetState: st.targetState });
          await sleep(100);
        }
      })();
      // Odd rounds: the writer finishes while the target is down (the source then has nothing
      // new to send and must still come back by itself, promptly); even rounds: it goes on
      // writing while the target restarts.
      if (round % 2 === 1) await w.done;
      await sleep(rnd() * 700);
      t = await restartTarget(t);
      await w.done;
      try {
        // The outage lasted a few seconds at most: the source must be back well within 20 s.
        await waitSynced(s, 'web', '20s');
        await expectSameTree(dir, replica);
      } catch (err) {
        throw new Error(`${ctx}: ${(err as Error).message}\n--- target log ---\n${t.log()}`);
      } finally {
        watching = false;
        await watcher;
      }
      const st = await status(s, 'web');
      expect(st.link, ctx).toBe('connected');
      expect(st.targetState, ctx).toBe('ok');
      expect(st.mirror.state, ctx).toBe('complete');
      expect(st.mirror.mode, ctx).toBe('full'); // still the initial mirror, not a new (diff) one
      expect(st.lastAckedSeq, ctx).toBe(st.lastCapturedSeq);
      expect(
        seen.filter((x) => x.mirror !== 'complete' || x.targetState === 'remirror-required'),
        ctx,
      ).toEqual([]);
      // A resumed stream resends at most the unacknowledged window besides what this round
      // wrote (the burst and small files); a remirror or a resend of everything would not fit.
      const sent = st.sent.bytes - before.sent.bytes;
      expect(sent, `${ctx}: ${sent} bytes sent in this round`).toBeLessThan(initialBytes / 2);
    }
  }, 120_000);

  it('a dropped TCP connection resumes from the last ack and never applies anything twice', async () => {
    // Plaintext and uncompressed, so the proxy can read the frames it forwards.
    const t = await startTarget({ extra: ['--insecure-no-tls'] });
    const s = await startSource();
    const proxy = await startProxy(t.port);
    const dir = await tmp('smr-src-');
    await seedTree(dir, 1, 3 * MiB);
    await connect(s, 'web', { ...t, addr: proxy.addr }, dir, [
      '--insecure-no-tls',
      '--compress',
      'none',
    ]);
    await waitSynced(s, 'web');
    const seed = BASE_SEED + 200;
    const rnd = prng(seed);
    const w = startWriter(dir, { seed, durationMs: 4000, maxBigBytes: 12 * MiB });
    let drops = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(250 + rnd() * 500);
      if (i % 2 === 0) {
        // A stalled path first (nothing moves, the source's socket fills up with a burst that
        // is still streaming), then the reset.
        await write(path.join(dir, `burst-${i}.bin`), crypto.randomBytes(3 * MiB));
        await sleep(50 + rnd() * 100);
        proxy.stall();
        await sleep(300);
      }
      if (proxy.dropAll() > 0) drops++;
    }
    await w.done;
    const replica = path.join(t.root, 'web');
    try {
      await waitSynced(s, 'web', '30s');
      await expectSameTree(dir, replica);
    } catch (err) {
      throw new Error(`seed ${seed}: ${(err as Error).message}`);
    }
    const st = await status(s, 'web');
    expect(st.lastAckedSeq).toBe(st.lastCapturedSeq);
    expect(st.targetState).toBe('ok');
    expect(drops).toBeGreaterThanOrEqual(3);

    // What crossed the wire: every stream session starts right after the target's durable seq, that
    // seq never goes back, acks never go back, and ops within a session are consecutive.
    const sessions = proxy.conns.filter((c) =>
      c.up.some((f) => f.type === FRAME.OPEN && !f.header.probe),
    );
    expect(proxy.conns.filter((c) => c.opaque)).toEqual([]);
    expect(sessions.length).toBeGreaterThanOrEqual(drops);
    let highestAck = 0;
    let lastApplied = 0;
    for (const [i, c] of sessions.entries()) {
      const where = `session ${i} (seed ${seed})`;
      const opened = c.down.find((f) => f.type === FRAME.OPENED);
      if (!opened) continue; // cut before the target answered OPEN
      const applied = Number(opened.header.appliedSeq);
      expect(applied, `${where}: OPENED seq went back`).toBeGreaterThanOrEqual(highestAck);
      expect(applied, `${where}: OPENED seq went back`).toBeGreaterThanOrEqual(lastApplied);
      lastApplied = applied;
      const ops = c.up.filter((f) => f.type === FRAME.OP).map((f) => Number(f.header.seq));
      if (ops.length)
        expect(ops[0], `${where}: did not resume from the last ack`).toBe(applied + 1);
      for (let k = 1; k < ops.length; k++)
        expect(ops[k], `${where}: ops not consecutive`).toBe((ops[k - 1] as number) + 1);
      for (const a of c.down.filter((f) => f.type === FRAME.ACK)) {
        const seq = Number(a.header.seq);
        expect(seq, `${where}: ack went back`).toBeGreaterThanOrEqual(highestAck);
        expect(seq, `${where}: ack beyond what was sent`).toBeLessThanOrEqual(
          ops.length ? (ops[ops.length - 1] as number) : applied,
        );
        highestAck = seq;
      }
    }
    expect(highestAck).toBe(st.lastAckedSeq);
  }, 120_000);

  it(
    'survives kills of both daemons, one after the other, with varied timing',
    { timeout: 120_000 },
    async () => {
      let t: TargetD = await startTarget();
      let s: Daemon = await startSource();
      const dir = await tmp('smr-src-');
      await seedTree(dir, 1, 2 * MiB);
      await connect(s, 'web', t, dir);
      await waitSynced(s, 'web');
      const seed = BASE_SEED + 300;
      const rnd = prng(seed);
      const w = startWriter(dir, { seed, durationMs: 4500, maxBigBytes: 10 * MiB });
      const logs: string[] = [];
      for (let i = 0; i < 4; i++) {
        await sleep(150 + rnd() * 700);
        if (rnd() < 0.5) {
          await s.kill();
          logs.push(`=== source ===\n${s.log()}`);
          await sleep(rnd() * 400);
          s = await startSource(s.stateDir);
        } else {
          await t.kill();
          logs.push(`=== target ===\n${t.log()}`);
          await sleep(rnd() * 400);
          t = await restartTarget(t);
        }
      }
      await w.done;
      try {
        // Each outage lasted under a second or two: the link must be back well within 20 s.
        await waitSyncedPastBrake(s, 'web', '20s');
        await expectSameTree(dir, path.join(t.root, 'web'));
      } catch (err) {
        await keepLogs(seed, [...logs, `=== source ===\n${s.log()}`, `=== target ===\n${t.log()}`]);
        throw new Error(`seed ${seed}: ${(err as Error).message}`);
      }
      // Everything may have been acknowledged before the last kill of the target: synced then
      // says nothing about the link, which must come back by itself (its backoff is short yet).
      await waitUntil(
        async () => (await status(s, 'web')).link === 'connected',
        20_000,
        `seed ${seed}: the link to come back`,
      );
      const st = await status(s, 'web');
      expect(st.lastAckedSeq).toBe(st.lastCapturedSeq);
      expect(st.targetState).toBe('ok');
    },
  );
});
