// Replica locks: a live session's path (or a nested one) is refused to a second session, and a
// session that has ended but is still closing is waited for rather than refused.
import { describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { ReplicaLocks } from '../../../src/target/replica-lock.js';

const busy = (locks: ReplicaLocks, p: string): string | null => {
  try {
    locks.check(p);
    return null;
  } catch (err) {
    return (err as SmrError).code;
  }
};

describe('replica locks', () => {
  it('refuse a path held by a live session, or nested with it', () => {
    const locks = new ReplicaLocks();
    const hold = locks.acquire('web', 'a@1');
    expect(busy(locks, 'web')).toBe('path-busy');
    expect(busy(locks, 'web/sub')).toBe('path-busy');
    expect(busy(locks, 'webs')).toBeNull();
    hold.release();
    expect(busy(locks, 'web')).toBeNull();
  });

  it('wait for an ended session to let go instead of refusing', async () => {
    const locks = new ReplicaLocks();
    const hold = locks.acquire('web', 'a@1');
    // Live: settled does not wait (check refuses).
    await locks.settled('web', 10_000);
    expect(busy(locks, 'web')).toBe('path-busy');
    hold.ending();
    let settled = false;
    const waiting = locks.settled('web', 10_000).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // still closing
    hold.release();
    await waiting;
    expect(busy(locks, 'web')).toBeNull();
    locks.acquire('web', 'a@2').release();
  });

  it('refuse an ended session that does not let go within the wait', async () => {
    const locks = new ReplicaLocks();
    locks.acquire('web', 'a@1').ending();
    await locks.settled('web', 30);
    expect(busy(locks, 'web')).toBe('path-busy');
  });
});
