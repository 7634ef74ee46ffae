// rowIs and rowCtimeProves (known.ts) answer what knownIs and ctimeProves answer for an index row
// whose ns come as exact doubles (StampRow; NaN where a double holds none), for every mix of
// stored and stat'ed times here: ns a double holds and ns it does not, equal, a tick apart, zero,
// before 1970.
import { describe, expect, it } from 'vitest';
import { exactNs } from '../../../src/index/stamp-rows.js';
import {
  ctimeProves,
  knownIs,
  rowCtimeProves,
  rowIs,
  type KnownStat,
} from '../../../src/source/known.js';

const stored = [
  0n,
  1_700_000_000_123_456_768n, // a double holds it
  1_700_000_000_123_456_789n, // none does
  1_700_000_000_123_456_512n,
  -315_619_199_876_543_232n,
  2n ** 53n + 1n,
  2n ** 53n,
  5_000_000n,
];
// Stat times (ms) near those: Math.round(ms * 1e6) lands on, beside or between them.
const statMs = [
  0,
  -0,
  5.000_000_1,
  ...stored.flatMap((ns) => {
    const ms = Number(ns) / 1e6;
    return [ms, ms + 1e-6, ms - 1e-6, ms + 2.5e-7];
  }),
];

describe('rowIs and rowCtimeProves', () => {
  it('answer as knownIs and ctimeProves do, time for time', () => {
    let equalSeen = 0;
    for (const ns of stored)
      for (const ms of statMs)
        for (const type of ['file', 'dir'] as const) {
          const st = { dev: 1, ino: 2, size: 3, mode: 0o100644, mtimeMs: ms, ctimeMs: ms };
          const known: KnownStat = { type, dev: 1, ino: 2, size: 3, mtimeNs: ns, mode: 0o644 };
          const row = { ...known, mtimeNs: exactNs(ns), ctimeNs: exactNs(ns) };
          const want = knownIs(known, st, type);
          expect(rowIs(row, st, type), `${ns} ${ms} ${type}`).toBe(want);
          const proves = ctimeProves({ dev: 1, ino: 2, ctimeNs: ns }, st);
          expect(rowCtimeProves(row, st), `${ns} ${ms}`).toBe(proves);
          if (want && type === 'file') equalSeen++;
        }
    expect(equalSeen).toBeGreaterThan(3); // the cases where they are equal are reached
  });
});
