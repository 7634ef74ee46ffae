import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The e2e files that take longest (s, clean-clone run on 2 cores), started first. Vitest runs
// whole files over the forks; without durations of a previous run (a fresh clone) it starts the
// largest files first, and a short file with a long run (capture-backlog, consistency) started
// last kept one fork busy alone at the end.
const SLOW_FIRST = [
  'mirror', // 74
  'capture-backlog', // 61
  'consistency', // ~75 at npm test's sizes
  'fidelity', // 56
  'restart', // ~55 at npm test's sizes
  'names', // 46
  'crash', // ~45 at npm test's sizes
  'bad-input', // 37
  'tasks', // 35
  'quiesce', // ~35 at npm test's sizes
  'restore', // 33
  'watcher-stall', // 32
].map((f) => `/test/e2e/${f}.test.ts`);

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (s: TestSpecification): number => {
      const i = SLOW_FIRST.findIndex((f) => s.moduleId.endsWith(f));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    // Stable: the rest keep the order vitest chose (by last duration when it knows one).
    return sorted
      .map((s, i) => ({ s, i, r: rank(s) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.s);
  }
}

// e2e tests start real daemons; two cores, so keep parallelism modest and timeouts generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    sequence: { sequencer: SlowFirst },
  },
});
