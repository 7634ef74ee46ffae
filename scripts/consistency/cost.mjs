#!/usr/bin/env node
// `node scripts/consistency/cost.mjs [--seconds S] [--rounds R] [--no-write]`: what crash mode
// costs against file mode, in one run on one btrfs loop mount (root): a SQLite writer (WAL,
// synchronous=FULL, better-sqlite3 in this process, one transaction after another) on a
// subvolume, alone ("no smr"), replicated in file mode, and in crash mode; rounds interleaved.
// Reported: the writer's transactions/s and commit latency (p50/p99), the CPU the source and the
// target daemons used per second of writing (% of one core), and how long after the writer stops
// the replica holds everything (`smr wait`). Results go to bench/RESULTS.md
// ("consistency-crash-cost") unless --no-write.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import {
  cpuWatch,
  machineFacts,
  machineLine,
  percentile,
  requireBuild,
  rmrf,
  say,
  smr,
  treeCpuMs,
  writeSection,
} from '../bench/common.mjs';
import { mountBtrfs, sh, unmountBtrfs } from './routes/btrfs-lib.mjs';
import { startSource, startTarget } from './smr-pair.mjs';
import { SqliteApp } from './sqlite-app.mjs';
import { prng } from './prng.mjs';

const MODES = ['none', 'file', 'crash'];

/** Writes transactions for `seconds`; returns { txns, latencies (ms) }. */
function write(db, seconds, rnd) {
  const d = new Database(db);
  d.pragma('journal_mode = WAL');
  d.pragma('synchronous = FULL');
  d.pragma('wal_autocheckpoint = 100');
  const insert = d.prepare(
    'INSERT INTO t(txn, of, k, v) VALUES (?, ?, hex(randomblob(8)), randomblob(?))',
  );
  const update = d.prepare(
    'UPDATE t SET k = hex(randomblob(8)), v = randomblob(?) WHERE id = (SELECT abs(random()) % max(id) + 1 FROM t)',
  );
  const totals = d.prepare('UPDATE totals SET txns = ?, rows = rows + ?');
  const lat = [];
  const end = Date.now() + seconds * 1000;
  let txn = 0;
  while (Date.now() < end) {
    txn++;
    const rows = 1 + Math.floor(rnd() * 20);
    const t0 = process.hrtime.bigint();
    d.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(txn, rows, 50 + Math.floor(rnd() * 1500));
      update.run(50 + Math.floor(rnd() * 800));
      totals.run(txn, rows);
    })();
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  d.close();
  return { txns: txn, latencies: lat };
}

async function one(mode, round, o, btrfs, work, key) {
  const dir = path.join(work, `${mode}-${round}`);
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(btrfs.mnt, `${mode}-${round}`);
  sh('btrfs', ['subvolume', 'create', src]);
  await new SqliteApp('WAL').setup(src);
  let target = null;
  let source = null;
  if (mode !== 'none') {
    target = await startTarget(dir, key);
    const extra = ['--consistency', mode];
    source = await startSource(dir, key, target.port, src, extra);
  }
  const pids = [source?.handle.pid, target?.handle.pid].filter(Boolean);
  const cpu0 = pids.map((p) => treeCpuMs([p]));
  const t0 = Date.now();
  const { txns, latencies } = write(path.join(src, 'app.db'), o.seconds, prng(round * 31 + 7));
  const wroteMs = Date.now() - t0;
  const cpu1 = pids.map((p) => treeCpuMs([p]));
  let catchUpMs = null;
  if (source) {
    const w0 = Date.now();
    await smr(['wait', 'app', '--timeout', '300s', '--state-dir', path.join(dir, 'sstate')], {
      timeoutMs: 310_000,
    });
    catchUpMs = Date.now() - w0;
    await source.handle.stop();
    await target.handle.stop();
  }
  const pct = (i) => (pids[i] ? (100 * (cpu1[i] - cpu0[i])) / wroteMs : null);
  return {
    mode,
    round,
    tps: txns / (wroteMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    sourceCpu: pct(0),
    targetCpu: pct(1),
    catchUpMs,
  };
}

const median = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
const f = (x, d = 1) => (x === null ? '—' : x.toFixed(d));

async function main() {
  const { values: o } = parseArgs({
    options: {
      seconds: { type: 'string', default: '15' },
      rounds: { type: 'string', default: '2' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  o.seconds = Number(o.seconds);
  o.rounds = Number(o.rounds);
  requireBuild();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-cost-'));
  fs.chmodSync(work, 0o755);
  const key = path.join(work, 'key');
  await smr(['key', 'generate', '--out', key]);
  const btrfs = mountBtrfs(work, 8);
  const startedAt = new Date();
  const busy = cpuWatch([]);
  const rows = [];
  try {
    for (let r = 0; r < o.rounds; r++)
      for (const mode of MODES) {
        const row = await one(mode, r, o, btrfs, work, key);
        say(
          `${mode} round ${r + 1}: ${f(row.tps)} txn/s, p50 ${f(row.p50, 2)} ms, p99 ${f(row.p99, 2)} ms, ` +
            `source ${f(row.sourceCpu)}%, target ${f(row.targetCpu)}%, caught up ${row.catchUpMs ?? '—'} ms`,
        );
        rows.push(row);
      }
  } finally {
    unmountBtrfs(btrfs);
    rmrf(work);
  }
  const { otherPct } = busy.end();
  const m = machineFacts();
  const lines = [
    '## Consistency: what crash mode costs (SQLite WAL writer on btrfs)',
    '',
    `_Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} on ${m.host}: ${machineLine(m)}. ` +
      `Other programs used ${otherPct.toFixed(0)}% of the machine's CPU during the run (shared machine)._`,
    '',
    `Command: \`node scripts/consistency/cost.mjs --seconds ${o.seconds} --rounds ${o.rounds}\`. ` +
      'One writer (better-sqlite3, WAL, synchronous=FULL, 1–20 rows of 50–1550 bytes and one ' +
      'rewritten row per transaction) on a subvolume of a loop-mounted btrfs image; medians over ' +
      'the rounds, modes interleaved. CPU: % of one core per second of writing (source, target ' +
      'daemons). Caught up: from the writer stopping until `smr wait` returned.',
    '',
    '| replication | txn/s | commit p50 (ms) | commit p99 (ms) | source CPU | target CPU | caught up (ms) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const mode of MODES) {
    const rs = rows.filter((r) => r.mode === mode);
    const med = (k) => median(rs.map((r) => r[k]));
    lines.push(
      `| ${mode === 'none' ? 'no smr' : `${mode} mode`} | ${f(med('tps'), 0)} | ${f(med('p50'), 2)} | ${f(med('p99'), 2)} | ` +
        `${med('sourceCpu') === null ? '—' : `${f(med('sourceCpu'), 0)}%`} | ${med('targetCpu') === null ? '—' : `${f(med('targetCpu'), 0)}%`} | ${med('catchUpMs') ?? '—'} |`,
    );
  }
  const md = lines.join('\n');
  process.stdout.write(`${md}\n`);
  if (!o['no-write']) writeSection('consistency-crash-cost', md);
}

main().catch((err) => {
  process.stderr.write(`cost: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
