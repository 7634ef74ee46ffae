import { describe, expect, it } from 'vitest';
import { AHEAD, AHEAD_DIR_BYTES, toAsk, type Pending } from '../../../src/source/walk-ahead.js';

interface Sub extends Pending {
  name: string;
}

const sub = (name: string, size = 4096, asked = false): Sub => ({
  name,
  st: { size },
  ...(asked ? { listing: Promise.resolve() } : {}),
});
const subs = (n: number, prefix: string, size?: number): Sub[] =>
  Array.from({ length: n }, (_, i) => sub(`${prefix}${i}`, size));
const names = (l: Sub[]) => l.map((s) => s.name);

describe('toAsk (how far a walk lists ahead)', () => {
  it('asks for up to AHEAD directories, in the order the walk reaches them', () => {
    const got = toAsk([{ subs: subs(AHEAD + 50, 'd'), nextSub: 0 }]);
    expect(got).toHaveLength(AHEAD);
    expect(got[0]?.name).toBe('d0');
    expect(got[AHEAD - 1]?.name).toBe(`d${AHEAD - 1}`);
  });

  it('takes the innermost level first, and nothing before a level’s next subdirectory', () => {
    const outer = { subs: [sub('a'), sub('b')], nextSub: 1 };
    const inner = { subs: [sub('c'), sub('d')], nextSub: 0 };
    expect(names(toAsk([outer, inner]))).toEqual(['c', 'd', 'b']);
  });

  it('asks again only once fewer than half are asked and not reached (batches)', () => {
    const level = { subs: subs(AHEAD * 2, 'd'), nextSub: 0 };
    for (const s of level.subs.slice(0, AHEAD / 2)) s.listing = Promise.resolve();
    expect(toAsk([level])).toEqual([]);
    level.nextSub = 1; // one reached: AHEAD / 2 - 1 asked ahead
    const got = toAsk([level]);
    expect(got).toHaveLength(AHEAD / 2 + 1);
    expect(got[0]?.name).toBe(`d${AHEAD / 2}`);
  });

  it('holds no more than about AHEAD_DIR_BYTES of directories, by their size', () => {
    const big = AHEAD_DIR_BYTES / 4;
    expect(names(toAsk([{ subs: subs(10, 'd', big), nextSub: 0 }]))).toEqual([
      'd0',
      'd1',
      'd2',
      'd3',
    ]);
    // One directory bigger than the whole budget is still asked for (alone).
    expect(names(toAsk([{ subs: subs(3, 'h', AHEAD_DIR_BYTES * 40), nextSub: 0 }]))).toEqual([
      'h0',
    ]);
    // Asked ones past half the budget: nothing more now.
    const level = { subs: [sub('a', AHEAD_DIR_BYTES / 2, true), ...subs(5, 'd')], nextSub: 0 };
    expect(toAsk([level])).toEqual([]);
  });

  it('counts a directory smaller than a block as a block', () => {
    const got = toAsk([{ subs: subs(AHEAD_DIR_BYTES / 4096 + 10, 'd', 10), nextSub: 0 }]);
    expect(got).toHaveLength(AHEAD_DIR_BYTES / 4096);
  });
});
