// Issue 15's acceptance, short version: a database written continuously on the source, the
// source machine "dying" (writer and source daemon killed -9 at the same instant) at random
// moments, and the replica must open cleanly as a state the source went through. Also: a target
// killed -9 mid-apply recovers to a group boundary. Each sample is run by the consistency
// harness (scripts/consistency/, `npm run consistency` is the long version with PostgreSQL).
//
// It runs crash mode (`connect --consistency crash`) on btrfs sources: root, loop mounts,
// btrfs-progs and sqlite3 (scripts/install-system-deps.sh). SMR_CONSISTENCY=file runs the same
// checks on file mode, to see its failures (bench/RESULTS.md, "Consistency: today's watcher mode").
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness.js';
import { sized } from '../helpers/scale.js';

const MODE = process.env.SMR_CONSISTENCY ?? 'crash';
// Crash mode needs a source that can snapshot: the harness puts each source on a btrfs loop mount.
const CONNECT = MODE === 'file' ? [] : ['--consistency', 'crash', '--btrfs'];
// Samples (test/helpers/scale.ts): npm test's, then test:long's. Each is a random kill moment of
// its own seed; `npm run consistency` is where the hundreds are.
/** Source deaths per journal mode. */
const SOURCE_RUNS = sized(2, 3);
/**
 * Target deaths per journal mode: not shrunk. With one, the test passed with the target's group
 * staging switched off (every op applied as it came); the source deaths above caught it.
 */
const TARGET_RUNS = 2;

interface Judgement {
  ok: boolean;
  reason: string | null;
  txns: number | null;
}
interface Sample {
  seed: number;
  killAtMs: number;
  verdict: string;
  source: Judgement;
  replica: Judgement;
}
interface Report {
  results: Record<string, Sample[]>;
}

/** Runs the harness with `args` and returns its exit code and parsed JSON report. */
function harness(args: string[]): Promise<{ code: number; report: Report | null; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        path.join(ROOT, 'scripts', 'consistency', 'run.mjs'),
        '--json',
        '--no-write',
        '--discard',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      let report: Report | null = null;
      try {
        report = JSON.parse(out) as Report;
      } catch {
        // no report: the harness failed before judging (its stderr says why)
      }
      resolve({ code: code ?? -1, report, err });
    });
  });
}

/** Every sample that is not clean, one line each, for the failure message. */
function failures(report: Report): string[] {
  return Object.entries(report.results).flatMap(([mode, samples]) =>
    samples
      .filter((s) => s.verdict !== 'clean')
      .map(
        (s) =>
          `${mode} seed ${s.seed} (killed at ${s.killAtMs} ms, source at txn ${s.source.txns}): ` +
          `${s.verdict}: ${s.replica.reason ?? s.source.reason}`,
      ),
  );
}

describe(`${MODE === 'file' ? 'file' : 'crash'}-mode replica after simulated crashes`, () => {
  for (const mode of ['sqlite-wal', 'sqlite-rollback']) {
    it(`${mode}: every source death leaves a replica that is a state the source had`, async () => {
      const r = await harness(['--mode', mode, '--runs', String(SOURCE_RUNS), ...CONNECT]);
      expect(r.report, `the harness did not judge anything:\n${r.err.slice(-2000)}`).not.toBeNull();
      const report = r.report as Report;
      const samples = report.results[mode] ?? [];
      expect(samples).toHaveLength(SOURCE_RUNS);
      // The source's own files are the reference: they must always be sound.
      for (const s of samples) expect(s.source.ok, s.source.reason ?? '').toBe(true);
      expect(failures(report)).toEqual([]);
      expect(r.code).toBe(0);
    }, 300_000);
  }

  it('a target killed -9 mid-apply recovers to a state the source had (both journal modes)', async () => {
    const r = await harness([
      '--mode',
      'sqlite-wal,sqlite-rollback',
      '--runs',
      String(TARGET_RUNS),
      '--kill',
      'target',
      ...CONNECT,
    ]);
    expect(r.report, `the harness did not judge anything:\n${r.err.slice(-2000)}`).not.toBeNull();
    const report = r.report as Report;
    expect(report.results['sqlite-wal']).toHaveLength(TARGET_RUNS);
    expect(report.results['sqlite-rollback']).toHaveLength(TARGET_RUNS);
    expect(failures(report)).toEqual([]);
    expect(r.code).toBe(0);
  }, 300_000);
});
