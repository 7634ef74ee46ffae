import { defineConfig } from 'vitest/config';

// e2e tests start real daemons; two cores, so keep parallelism modest and timeouts generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
