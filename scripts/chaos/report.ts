// Lines the chaos harness prints: one per run, and the totals over all runs.
import { failed, type RunResult } from './run.js';

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function cutsOf(r: RunResult): number {
  const c = r.faults.cuts;
  return c.reset + c.stall + c['stall-reset'];
}

/** One line (two for a failure) about a finished run. */
export function runLine(r: RunResult, i: number, runs: number): string {
  const k = r.faults.kills;
  const c = r.faults.cuts;
  const head =
    `run ${i + 1}/${runs} seed ${r.seed}: ${r.ops} ops, kills ${k.source + k.target} ` +
    `(source ${k.source}, target ${k.target}), link faults ${cutsOf(r)} ` +
    `(reset ${c.reset}, stall ${c.stall}, stall+reset ${c['stall-reset']})`;
  const brake = r.brake
    ? `, BRAKE held deletions (answered with mirror start --force: exit ${r.brake.forceCode})`
    : '';
  const temps = r.tempLeftovers ? `, ${r.tempLeftovers} temp files left` : '';
  const lost = r.targetOnly.lost.length
    ? `, TARGET-ONLY FILES LOST: ${r.targetOnly.lost.length} of ${r.targetOnly.planted}`
    : '';
  const diffs = Object.entries(r.diffCounts)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  let tail: string;
  if (r.hang) tail = `DAEMON HUNG: ${r.hang}`;
  else if (r.error) tail = `HARNESS ERROR: ${r.error}`;
  else if (r.wait.code !== 0)
    tail = `wait exited ${r.wait.code} after ${sec(r.wait.ms)} (not converged)${diffs ? `; differences: ${diffs}` : ''}`;
  else if (r.diverged)
    tail = `wait 0 in ${sec(r.wait.ms)}, DIVERGED (${r.persistent ? 'still 5 s later' : 'healed within 5 s'}): ${diffs}`;
  else tail = `wait 0 in ${sec(r.wait.ms)}, trees equal`;
  const logs = r.logsDir && (failed(r) || r.brake) ? `\n    logs: ${r.logsDir}` : '';
  const sample = r.diffs
    .slice(0, 5)
    .map(
      (d) =>
        `\n    ${d.kind} ${d.path}${d.source ? ` src: ${d.source}` : ''}${d.target ? ` tgt: ${d.target}` : ''}`,
    );
  return `${head}; ${tail}${brake}${temps}${lost}${failed(r) ? sample.join('') : ''}${logs}`;
}

/** wait ran and never returned 0. */
function notConverged(r: RunResult): boolean {
  return !r.error && !r.hang && r.wait.code !== 0;
}

/** Totals over all runs. */
export interface Totals {
  runs: number;
  seconds: number;
  seeds: number[];
  kills: { source: number; target: number; perRun: number };
  cuts: { reset: number; stall: number; 'stall-reset': number; perRun: number };
  divergences: number;
  divergedSeeds: number[];
  notConverged: number;
  notConvergedSeeds: number[];
  errors: number;
  errorSeeds: number[];
  hangs: number;
  hangSeeds: number[];
  /** Runs where the brake held deletions and the harness passed it with --force. */
  brakes: number;
  brakeSeeds: number[];
  converge: { medianMs: number; meanMs: number; maxMs: number } | null;
  tempLeftoverRuns: number;
  /** Runs that planted target-only files, and those that lost some. */
  targetOnly: { runs: number; lostRuns: number; lostSeeds: number[] };
  /** Mean 1-minute load average at the end of the runs (2 would be both cores of a 2-core host). */
  meanLoad: number;
}

/** Sums the runs. */
export function totals(results: RunResult[], seconds: number): Totals {
  const sum = (f: (r: RunResult) => number): number => results.reduce((s, r) => s + f(r), 0);
  const n = Math.max(1, results.length);
  const waits = results
    .filter((r) => r.wait.code === 0 && !r.error)
    .map((r) => r.wait.ms)
    .sort((a, b) => a - b);
  const seedsOf = (f: (r: RunResult) => boolean): number[] => results.filter(f).map((r) => r.seed);
  return {
    runs: results.length,
    seconds,
    seeds: results.map((r) => r.seed),
    kills: {
      source: sum((r) => r.faults.kills.source),
      target: sum((r) => r.faults.kills.target),
      perRun: sum((r) => r.faults.kills.source + r.faults.kills.target) / n,
    },
    cuts: {
      reset: sum((r) => r.faults.cuts.reset),
      stall: sum((r) => r.faults.cuts.stall),
      'stall-reset': sum((r) => r.faults.cuts['stall-reset']),
      perRun: sum(cutsOf) / n,
    },
    divergences: seedsOf((r) => r.diverged).length,
    divergedSeeds: seedsOf((r) => r.diverged),
    notConverged: seedsOf(notConverged).length,
    notConvergedSeeds: seedsOf(notConverged),
    hangs: seedsOf((r) => r.hang !== undefined).length,
    hangSeeds: seedsOf((r) => r.hang !== undefined),
    brakes: seedsOf((r) => r.brake !== null).length,
    brakeSeeds: seedsOf((r) => r.brake !== null),
    errors: seedsOf((r) => r.error !== undefined).length,
    errorSeeds: seedsOf((r) => r.error !== undefined),
    converge: waits.length
      ? {
          medianMs: waits[Math.floor(waits.length / 2)] as number,
          meanMs: Math.round(waits.reduce((s, x) => s + x, 0) / waits.length),
          maxMs: waits[waits.length - 1] as number,
        }
      : null,
    tempLeftoverRuns: seedsOf((r) => r.tempLeftovers > 0).length,
    meanLoad: sum((r) => r.load) / n,
    targetOnly: {
      runs: seedsOf((r) => r.targetOnly.planted > 0).length,
      lostRuns: seedsOf((r) => r.targetOnly.lost.length > 0).length,
      lostSeeds: seedsOf((r) => r.targetOnly.lost.length > 0),
    },
  };
}

/** The totals as the lines printed at the end. */
export function totalsText(t: Totals): string {
  const list = (xs: number[]): string => (xs.length ? ` (seeds ${xs.join(', ')})` : '');
  const conv = t.converge
    ? `median ${sec(t.converge.medianMs)}, mean ${sec(t.converge.meanMs)}, max ${sec(t.converge.maxMs)}`
    : 'none converged';
  return [
    `chaos: ${t.runs} runs of ${t.seconds} s`,
    `  kills:        ${t.kills.source + t.kills.target} (source ${t.kills.source}, target ${t.kills.target}), ${t.kills.perRun.toFixed(1)} per run`,
    `  link faults:  ${t.cuts.reset + t.cuts.stall + t.cuts['stall-reset']} (reset ${t.cuts.reset}, stall ${t.cuts.stall}, stall+reset ${t.cuts['stall-reset']}), ${t.cuts.perRun.toFixed(1)} per run`,
    `  divergences:  ${t.divergences} (wait returned 0, trees differ)${list(t.divergedSeeds)}`,
    `  no converge:  ${t.notConverged} (wait never returned 0)${list(t.notConvergedSeeds)}`,
    `  brake holds:  ${t.brakes} (wait exited 2: deletions held; passed with mirror start --force, then judged)${list(t.brakeSeeds)}`,
    `  daemon hangs: ${t.hangs} (a restarted daemon never became ready)${list(t.hangSeeds)}`,
    `  harness errors: ${t.errors}${list(t.errorSeeds)}`,
    `  time to converge (smr wait after the workload): ${conv}`,
    `  runs with leftover temp files in the replica: ${t.tempLeftoverRuns}`,
    ...(t.targetOnly.runs
      ? [
          `  target-only files lost: in ${t.targetOnly.lostRuns} of ${t.targetOnly.runs} runs${list(t.targetOnly.lostSeeds)}`,
        ]
      : []),
    `  machine load (1-min average at the end of a run): mean ${t.meanLoad.toFixed(1)}`,
  ].join('\n');
}
