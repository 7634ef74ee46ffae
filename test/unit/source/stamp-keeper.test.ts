// The stamp keeper (src/source/stamp-keeper.ts): builds missing pages while the connection is not
// busy, a chunk per turn, resting between chunks, and stops for good when told.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StampPages } from '../../../src/index/index.js';
import { keepStampPages } from '../../../src/source/stamp-keeper.js';
import { log } from '../../../src/shared/log.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Pages that take `chunks` refresh calls to be whole; counts the calls. */
function fakePages(chunks: number): { pages: StampPages; calls: () => number; left: () => number } {
  let left = chunks;
  let calls = 0;
  const pages = {
    refresh: () => {
      calls++;
      if (left > 0) left--;
      return left === 0;
    },
  } as unknown as StampPages;
  return { pages, calls: () => calls, left: () => left };
}

describe('stamp keeper', () => {
  it('builds nothing while busy, then every chunk, then looks again each second', async () => {
    const f = fakePages(3);
    let busy = true;
    const stop = keepStampPages(f.pages, () => busy, 'c');
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.calls()).toBe(0);
    busy = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.calls()).toBeGreaterThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(f.left()).toBe(0);
    const whole = f.calls();
    await vi.advanceTimersByTimeAsync(3000);
    expect(f.calls()).toBe(whole + 3); // an idle look each second
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.calls()).toBe(whole + 3);
  });

  it('rests four times as long as a chunk took before the next', async () => {
    const f = fakePages(10);
    const slow = f.pages.refresh.bind(f.pages);
    f.pages.refresh = (n: number) => {
      vi.advanceTimersByTime(50); // the chunk takes 50 ms of the clock
      return slow(n);
    };
    const stop = keepStampPages(f.pages, () => false, 'c');
    await vi.advanceTimersByTimeAsync(1000); // the first look, at 1 s
    expect(f.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(190); // rest: 200 ms
    expect(f.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(70);
    expect(f.calls()).toBe(2);
    stop();
  });

  it('says once that it cannot build, and keeps trying', async () => {
    const pages = {
      refresh: vi.fn(() => {
        throw new Error('disk full');
      }),
    } as unknown as StampPages;
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const stop = keepStampPages(pages, () => false, 'c');
    await vi.advanceTimersByTimeAsync(3500);
    expect(vi.mocked(pages.refresh).mock.calls.length).toBe(3);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      'c: cannot keep stamp pages: disk full',
    ]);
    warn.mockRestore();
    stop();
  });
});
