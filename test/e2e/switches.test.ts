// replicate on|off, transmit start|stop|pause|resume, limit: the switches scripts flip.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
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
} from '../helpers/harness.js';

afterEach(cleanupAll);

describe('switches', () => {
  it('replicate off marks the target remirror-required; on remirrors by itself', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'sw', t, dir);
    await waitSynced(s, 'sw');
    const off = await smr(['replicate', 'off', 'sw', '--json', '--state-dir', s.stateDir]);
    expect(off.code).toBe(0);
    expect(off.json).toMatchObject({ replication: 'off', targetState: 'remirror-required' });
    await write(path.join(dir, 'while-off.txt'), 'not captured');
    await new Promise((r) => setTimeout(r, 500));
    await expect(fsp.access(path.join(t.root, 'sw', 'while-off.txt'))).rejects.toThrow();
    const on = await smr(['replicate', 'on', 'sw', '--json', '--state-dir', s.stateDir]);
    expect(on.code).toBe(0);
    expect((await waitMirrored(s.stateDir, 'sw', '30s')).code).toBe(0);
    await waitSynced(s, 'sw');
    await expectSameTree(dir, path.join(t.root, 'sw'));
    await waitUntil(
      async () =>
        (await smr(['status', 'sw', '--json', '--state-dir', s.stateDir])).json.targetState ===
        'ok',
      10_000,
      'target ok',
    );
  });

  it('transmit stop/pause hold the queue, start/resume send it; limit throttles; wait times out with 6', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'sw', t, dir);
    await waitSynced(s, 'sw');
    for (const [stop, start, state, link] of [
      ['pause', 'resume', 'paused', 'connected'],
      ['stop', 'start', 'stopped', 'disconnected'],
    ] as const) {
      const r = await smr(['transmit', stop, 'sw', '--json', '--state-dir', s.stateDir]);
      expect(r.code).toBe(0);
      expect(r.json.transmit).toBe(state);
      await write(path.join(dir, `${stop}.txt`), stop);
      await waitUntil(
        async () =>
          (await smr(['status', 'sw', '--json', '--state-dir', s.stateDir])).json.queue.ops > 0,
        10_000,
        'the change to be queued',
      );
      const st = (await smr(['status', 'sw', '--json', '--state-dir', s.stateDir])).json;
      expect(st.link).toBe(link);
      const w = await smr(['wait', 'sw', '--timeout', '1s', '--state-dir', s.stateDir]);
      expect(w.code).toBe(6);
      expect((await smr(['transmit', start, 'sw', '--state-dir', s.stateDir])).code).toBe(0);
      await waitSynced(s, 'sw');
      expect(await fsp.readFile(path.join(t.root, 'sw', `${stop}.txt`), 'utf8')).toBe(stop);
    }
    expect(
      (await smr(['limit', 'sw', '--bandwidth', '500KiB/s', '--state-dir', s.stateDir])).code,
    ).toBe(0);
    const started = Date.now();
    await write(path.join(dir, 'big.bin'), Buffer.alloc(1024 * 1024, 1));
    await waitSynced(s, 'sw');
    expect(Date.now() - started).toBeGreaterThan(1200); // 1 MiB at 500 KiB/s
    expect((await smr(['limit', 'sw', '--bandwidth', 'off', '--state-dir', s.stateDir])).code).toBe(
      0,
    );
    expect(
      (await smr(['limit', 'sw', '--bandwidth', 'fast', '--state-dir', s.stateDir])).code,
    ).toBe(2);
    await expectSameTree(dir, path.join(t.root, 'sw'));
  });
});
