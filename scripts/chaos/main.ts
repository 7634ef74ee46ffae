// `npm run chaos -- --runs N --seconds S [--seed X]`: seeded chaos runs against real daemons
// (docs/CHAOS.md). Run i uses seed X+i; `--runs 1 --seed X --seconds S` replays one of them.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO, SMR_BIN } from './daemons.js';
import { chaosRun, failed, type RunResult } from './run.js';
import { runLine, totals, totalsText } from './report.js';

const USAGE = `usage: npm run chaos -- [--runs N] [--seconds S] [--seed X] [options]
  --runs N            runs to do (default 10)
  --seconds S         workload time per run (default 20)
  --seed X            seed of the first run; run i uses X+i (default: random, printed)
  --kill-every S      mean seconds between kill -9s (default 4)
  --fault-every S     mean seconds between link faults (default 2.5)
  --wait-timeout S    how long smr wait may take after the workload (default 180)
  --big-mib N         MiB of big (1-4 MiB) writes per run (default 48)
  --target-only N     put N files into the replica by hand after connect; a run that loses one
                      fails (smr must keep target-only files unless told to delete orphans)
  --smr FILE          the smr to test (default: bin/smr.js of this checkout, built by npm run chaos)
  --work DIR          where run directories go (default bench/work/chaos/<time>)
  --keep              keep every run's directory (failed runs are always kept)
  --json              print one JSON object with every run and the totals
`;

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0, not "${v}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      'kill-every': { type: 'string' },
      'fault-every': { type: 'string' },
      'wait-timeout': { type: 'string' },
      'big-mib': { type: 'string' },
      work: { type: 'string' },
      smr: { type: 'string' },
      'target-only': { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const runs = num(a.runs, 'runs', 10);
  const seconds = num(a.seconds, 'seconds', 20);
  const seed = Math.floor(num(a.seed, 'seed', Math.floor(Math.random() * 1e6)));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const workDir = path.resolve(a.work ?? path.join(REPO, 'bench', 'work', 'chaos', stamp));
  const say = (s: string): void => void (a.json ? process.stderr : process.stdout).write(s + '\n');
  say(
    `chaos: ${runs} runs of ${seconds} s, seeds ${seed}..${seed + runs - 1}; run directories under ${workDir} (kept for failed runs)`,
  );
  const rates = {
    killEvery: num(a['kill-every'], 'kill-every', 4),
    cutEvery: num(a['fault-every'], 'fault-every', 2.5),
  };
  const bigMib = num(a['big-mib'], 'big-mib', 48);
  const targetOnly = Math.floor(num(a['target-only'], 'target-only', 0));
  // Everything that shapes a run, so the replay line reproduces it.
  const replay =
    `npm run chaos -- --runs 1 --seconds ${seconds} --kill-every ${rates.killEvery} ` +
    `--fault-every ${rates.cutEvery} --big-mib ${bigMib}` +
    (targetOnly ? ` --target-only ${targetOnly}` : '') +
    (a.smr ? ` --smr ${a.smr}` : '');
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await chaosRun({
      seed: seed + i,
      seconds,
      smrBin: path.resolve(a.smr ?? SMR_BIN),
      workDir,
      rates,
      waitTimeoutS: num(a['wait-timeout'], 'wait-timeout', 180),
      keepLogs: a.keep,
      bigBudget: bigMib * 1024 * 1024,
      maxEntries: 1200,
      targetOnly,
    });
    results.push(r);
    say(runLine(r, i, runs));
    if (failed(r)) say(`    replay: ${replay} --seed ${r.seed}`);
  }
  const t = totals(results, seconds);
  say(totalsText(t));
  if (a.json) process.stdout.write(JSON.stringify({ totals: t, runs: results }) + '\n');
  return results.some(failed) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`chaos: ${err.message}\n${USAGE}`);
    process.exit(2);
  },
);
