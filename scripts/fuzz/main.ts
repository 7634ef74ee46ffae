// `npm run fuzz -- --frames N [--seed X] [--hostile N]`: hostile frames against real targets
// (docs/FUZZ.md). The same seed replays the same frames; a failed run keeps its directory.
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/repo-root.js';
import { parseArgs } from 'node:util';
import { fuzzRun, passed, type FuzzResult } from './run.js';

const USAGE = `usage: npm run fuzz -- [--frames N] [--seed X] [options]
  --frames N        frames to send in all (default 20000; the issue's long form is 100000)
  --seed X          seed of the run (default: random, printed)
  --hostile N       hostile pre-authentication connections at the end (default 1000; 0: none)
  --max-rss-mib M   a target whose peak RSS passes this fails the run (default 400)
  --fs-mib M        size of the loop-mounted file system the roots live on (default 512)
  --smr FILE        the smr to test (default: bin/smr.js of this checkout, built by npm run fuzz)
  --work DIR        the run's directory (default bench/work/fuzz/<time>)
  --keep            keep the run's directory (kept anyway when something failed)
  --json            print one JSON object with the results
`;

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number ≥ 0, not "${v}"`);
  return n;
}

/** The summary lines of a run. */
export function summary(r: FuzzResult, maxRss: number): string {
  const rss = Object.entries(r.rss)
    .map(([k, v]) => `${k} peak ${v.peak} MiB (at 10%: ${v.first10pct}, at the end: ${v.end})`)
    .join('; ');
  const real = Object.entries(r.real)
    .map(([k, v]) => `${k} ${v ?? 'ok'}`)
    .join('; ');
  const stops = Object.entries(r.stops)
    .map(([k, v]) => `${k} exit ${v ?? 'none (killed)'}`)
    .join(', ');
  const h = r.hostile;
  const lines = [
    `fuzz seed ${r.seed}: ${r.frames.total} frames (${r.frames.preauth} before authentication, ${r.frames.decoder} refused by design, ${r.frames.burst} in hostile bursts) in ${r.rounds} rounds, ${r.seconds} s`,
    `  crashes ${r.crashes.length}, hangs ${r.hangs.length}, escapes ${r.escapes.length}; canaries ${r.canaries.run - r.canaries.failed.length}/${r.canaries.run}; connections closed by the target ${r.closedByTarget}; FAULTs reported ${r.faultsReported}`,
    `  RSS: ${rss} (bound ${maxRss} MiB)`,
    `  real replication after: ${real}; clean stops: ${stops}`,
    h
      ? `  pre-auth storm: ${h.connections} connections, ${h.waiting} let wait (max ${h.maxPerAddress} per address), all closed: ${h.allClosed}, target peak ${h.peakMiB} MiB (bound 150)`
      : '  pre-auth storm: not run',
  ];
  for (const x of [...r.crashes, ...r.hangs, ...r.escapes, ...r.canaries.failed].slice(0, 20))
    lines.push(`  ! ${x}`);
  if (r.kept) lines.push(`  run directory kept: ${r.kept}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      frames: { type: 'string' },
      seed: { type: 'string' },
      hostile: { type: 'string' },
      'max-rss-mib': { type: 'string' },
      'fs-mib': { type: 'string' },
      smr: { type: 'string' },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (a.help) return (process.stdout.write(USAGE), 0);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const maxRss = num(a['max-rss-mib'], 'max-rss-mib', 400);
  const say = (s: string): void => void (a.json ? process.stderr : process.stdout).write(s + '\n');
  const r = await fuzzRun({
    frames: num(a.frames, 'frames', 20_000),
    seed: num(a.seed, 'seed', Math.floor(Math.random() * 1e6)),
    hostile: num(a.hostile, 'hostile', 1000),
    fsMiB: num(a['fs-mib'], 'fs-mib', 512),
    bin: path.resolve(a.smr ?? path.join(repoRoot(import.meta.url), 'bin', 'smr.js')),
    work: path.resolve(
      a.work ?? path.join(repoRoot(import.meta.url), 'bench', 'work', 'fuzz', stamp),
    ),
    keep: a.keep,
    say,
  });
  say(summary(r, maxRss));
  say(
    `  machine: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  if (a.json) process.stdout.write(JSON.stringify(r) + '\n');
  return passed(r, maxRss) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`fuzz: ${err.message}\n${USAGE}`);
    process.exit(2);
  },
);
