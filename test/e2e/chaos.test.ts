// The chaos harness in short (docs/CHAOS.md): seeded workloads with kill -9 of either daemon and
// link resets and stalls through a proxy, then `smr wait` and an independent comparison of both
// trees. A failure names the seed and keeps the run's logs; replay it with
// `npm run chaos -- --runs 1 --seconds 6 --kill-every 2 --fault-every 1.5 --seed SEED`.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chaosRun, type RunResult } from '../../scripts/chaos/run.js';
import { SMR_BIN } from '../../scripts/chaos/daemons.js';

// Chosen once from runs on the code of 2026-12-06; each run plans 2-4 kills and 3-5 link faults.
const SEEDS = [41, 42];
const SECONDS = 6;

const results: RunResult[] = [];
const workDir = path.join(os.tmpdir(), `smr-chaos-test-${process.pid}`);

afterAll(async () => {
  // A failed run's directory (trees, --verbose logs of both daemons, events.log) is kept.
  if (results.every((r) => r.logsDir === null))
    await fsp.rm(workDir, { recursive: true, force: true });
});

describe('chaos (short)', () => {
  it.each(SEEDS)(
    'seed %i: after kills and link faults, wait returns 0 and the trees are equal',
    async (seed) => {
      const r = await chaosRun({
        seed,
        seconds: SECONDS,
        smrBin: SMR_BIN,
        workDir,
        rates: { killEvery: 2, cutEvery: 1.5 },
        waitTimeoutS: 40,
        keepLogs: false,
        bigBudget: 8 * 1024 * 1024,
        maxEntries: 600,
        targetOnly: 2,
      });
      results.push(r);
      const ctx = `seed ${seed} (logs: ${r.logsDir ?? 'none'}): ${JSON.stringify({
        hang: r.hang,
        error: r.error,
        wait: r.wait,
        diffs: r.diffs.slice(0, 10),
      })}`;
      expect(r.hang, ctx).toBeUndefined();
      expect(r.error, ctx).toBeUndefined();
      expect(r.wait.code, ctx).toBe(0);
      expect(r.diffCounts, ctx).toEqual({});
      // Files put into the replica by hand survive every restart (no orphan deletion asked for).
      expect(r.targetOnly.planted, ctx).toBe(2);
      expect(r.targetOnly.lost, ctx).toEqual([]);
      // The faults really happened (a run that met none would prove nothing).
      expect(r.faults.kills.source + r.faults.kills.target, ctx).toBeGreaterThan(0);
      expect(r.ops, ctx).toBeGreaterThan(100);
    },
    120_000,
  );
});
