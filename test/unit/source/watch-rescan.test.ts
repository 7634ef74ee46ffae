// MissedChanges: a watcher's report of lost events becomes a rescan — counted, one at a time,
// after a running mirror.
import { describe, expect, it } from 'vitest';
import { MissedChanges } from '../../../src/source/watch-rescan.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MissedChanges', () => {
  it('rescans once per miss, and once more for misses reported while a rescan runs', async () => {
    const runs: Array<() => void> = [];
    const m = new MissedChanges({
      name: 't',
      rescan: () => {
        const d = deferred();
        runs.push(d.resolve);
        return d.promise;
      },
      mirrorActive: () => false,
      capturing: () => true,
    });
    m.request('overflow');
    expect(runs).toHaveLength(1);
    m.request('overflow again');
    m.request('and again');
    expect(runs).toHaveLength(1); // one at a time
    runs[0]?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toHaveLength(2); // the two misses during the first share the next rescan
    runs[1]?.();
    await m.idle();
    expect(m.stats()).toEqual({ missed: 3, rescans: 2 });
  });

  it('waits for a running mirror to end before it rescans', async () => {
    let mirror = true;
    let rescans = 0;
    const m = new MissedChanges({
      name: 't',
      rescan: async () => {
        rescans++;
      },
      mirrorActive: () => mirror,
      capturing: () => true,
    });
    m.request('overflow');
    await new Promise((r) => setTimeout(r, 700));
    expect(rescans).toBe(0);
    mirror = false;
    await m.idle();
    expect(rescans).toBe(1);
    expect(m.stats()).toEqual({ missed: 1, rescans: 1 });
    m.stop();
  });

  it('counts a failed rescan and carries on', async () => {
    let fail = true;
    let rescans = 0;
    const m = new MissedChanges({
      name: 't',
      rescan: async () => {
        rescans++;
        if (fail) throw new Error('source path unreadable');
      },
      mirrorActive: () => false,
      capturing: () => true,
    });
    m.request('overflow');
    await m.idle();
    fail = false;
    m.request('overflow');
    await m.idle();
    expect(rescans).toBe(2);
    expect(m.stats()).toEqual({ missed: 2, rescans: 2 });
  });

  it('does not rescan while replication is off (turning it on remirrors instead)', async () => {
    let rescans = 0;
    let on = false;
    const m = new MissedChanges({
      name: 't',
      rescan: async () => {
        rescans++;
      },
      mirrorActive: () => false,
      capturing: () => on,
    });
    m.request('overflow');
    await m.idle();
    expect(rescans).toBe(0);
    on = true;
    m.request('overflow');
    await m.idle();
    expect(rescans).toBe(1);
    expect(m.stats()).toEqual({ missed: 2, rescans: 1 });
  });
});
