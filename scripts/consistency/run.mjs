#!/usr/bin/env node
// `npm run consistency -- --runs N [--mode sqlite-wal|sqlite-rollback|postgres|all]`: is the
// replica always a state the source went through? Each run writes a database continuously on
// the source while smr replicates it on loopback, kills the application and the source daemon at
// the same instant at a random moment, lets the target settle, and opens a copy of the replica:
// SQLite `PRAGMA integrity_check` and whole transactions 1..m with m ≤ what the source had
// committed; PostgreSQL: crash recovery, pg_amcheck, the same row checks, pg_checksums.
//
// Options: --consistency file|crash (passed to `smr connect`; default: none, today's mode; crash
// implies --btrfs; `--mode crash` is short for `--mode all --consistency crash`),
// --kill source|target (target: kill -9 the target mid-apply first, restart it, then judge),
// --btrfs (each sample's source directory is a subvolume of a loop-mounted btrfs image, as crash
// mode needs; root only),
// --seed S, --min-ms/--max-ms (when the source dies after the writer starts), --json (one JSON
// object on stdout), --no-write (leave bench/RESULTS.md alone), --keep (keep every scratch dir;
// by default those of samples that were not clean are kept), --discard (keep none, as a test wants).
// Exit: 0 when every sample is clean, 1 when any is not, 2 on bad usage or missing programs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BenchError,
  machineFacts,
  machineLine,
  cpuWatch,
  requireBuild,
  rmrf,
  say,
  smr,
  toolVersion,
  writeSection,
} from '../bench/common.mjs';
import { prng } from './prng.mjs';
import { PgApp, pgMissing } from './pg-app.mjs';
import { SQLITE_MODES, SqliteApp } from './sqlite-app.mjs';
import { runSample } from './sample.mjs';
import { mountBtrfs, sh, unmountBtrfs } from './routes/btrfs-lib.mjs';

const ALL = ['sqlite-wal', 'sqlite-rollback', 'postgres'];

function usage(msg) {
  if (msg) process.stderr.write(`consistency: ${msg}\n`);
  process.stderr.write(
    'usage: npm run consistency -- [--runs N] [--mode sqlite-wal|sqlite-rollback|postgres|all[,...]]\n' +
      '         [--consistency file|crash] [--kill source|target] [--btrfs] [--seed S]\n' +
      '         [--min-ms MS] [--max-ms MS] [--json] [--no-write] [--keep|--discard]\n',
  );
  return 2;
}

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '20' },
      mode: { type: 'string', default: 'all' },
      consistency: { type: 'string' },
      kill: { type: 'string', default: 'source' },
      seed: { type: 'string', default: String(Date.now() % 1e9) },
      'min-ms': { type: 'string', default: '1500' },
      'max-ms': { type: 'string', default: '6000' },
      json: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      discard: { type: 'boolean', default: false },
      btrfs: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  // `--mode crash|file`: every application in that consistency mode.
  if (values.mode === 'crash' || values.mode === 'file') {
    values.consistency = values.mode;
    values.mode = 'all';
  }
  if (values.consistency === 'crash') values.btrfs = true; // crash mode needs a btrfs source
  const modes = values.mode === 'all' ? ALL : values.mode.split(',');
  const bad = modes.find((m) => !ALL.includes(m));
  if (bad) throw new Error(`unknown mode "${bad}" (one of ${ALL.join(', ')}, all)`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (values.consistency && !['file', 'crash'].includes(values.consistency))
    throw new Error('--consistency must be file or crash');
  if (!['source', 'target'].includes(values.kill))
    throw new Error('--kill must be source or target');
  const minMs = Number(values['min-ms']);
  const maxMs = Number(values['max-ms']);
  if (!(minMs >= 0 && maxMs >= minMs)) throw new Error('--min-ms/--max-ms: 0 <= min <= max');
  return { ...values, modes, runs, minMs, maxMs, seed: Number(values.seed) };
}

function appFor(mode) {
  return mode === 'postgres' ? new PgApp() : new SqliteApp(SQLITE_MODES[mode]);
}

async function main(argv) {
  let o;
  try {
    o = parse(argv);
  } catch (e) {
    return usage(e.message);
  }
  if (o.help) return (usage(), 0);
  requireBuild();
  if (o.modes.some((m) => m.startsWith('sqlite')) && !toolVersion('sqlite3'))
    return usage('sqlite3 not found (Debian: apt-get install sqlite3)');
  if (o.modes.includes('postgres') && pgMissing()) return usage(pgMissing());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-consistency-'));
  fs.chmodSync(work, 0o755);
  const key = path.join(work, 'key');
  await smr(['key', 'generate', '--out', key]);
  const connectExtra = o.consistency ? ['--consistency', o.consistency] : [];
  const startedAt = new Date();
  const busy = cpuWatch([]);
  const loads = [os.loadavg()[0]];
  const loadTimer = setInterval(() => loads.push(os.loadavg()[0]), 10_000);
  const results = {};
  const btrfs = o.btrfs ? mountBtrfs(work, 16) : null;
  try {
    for (const mode of o.modes) {
      const app = appFor(mode);
      await app.prepare(work);
      results[mode] = [];
      for (let i = 0; i < o.runs; i++) {
        const seed = o.seed + i * 7919 + ALL.indexOf(mode) * 104729;
        const dir = path.join(work, `${mode}-${i}`);
        const r = await runSample({
          app,
          dir,
          key,
          rnd: prng(seed),
          minMs: o.minMs,
          maxMs: o.maxMs,
          connectExtra,
          kill: o.kill,
          makeSrc: btrfs
            ? () => {
                const sub = path.join(btrfs.mnt, `${mode}-${i}`);
                sh('btrfs', ['subvolume', 'create', sub]);
                return sub;
              }
            : null,
        });
        r.seed = seed;
        results[mode].push(r);
        say(
          `${mode} #${i + 1}: ${r.verdict} — killed at ${r.killAtMs} ms, source had ${r.source.txns} txns, ` +
            `replica ${r.replica.txns ?? '-'}${r.replica.reason ? ` (${r.replica.reason})` : ''}` +
            `${r.rolledForward ? ', target rolled a group forward at restart' : ''}` +
            ` [load ${os.loadavg()[0].toFixed(1)}]`,
        );
        if (!o.keep && r.verdict === 'clean') {
          rmrf(dir);
          if (btrfs) dropSubvolume(path.join(btrfs.mnt, `${mode}-${i}`));
        }
      }
    }
  } finally {
    if (btrfs) unmountBtrfs(btrfs);
    const allClean = Object.values(results)
      .flat()
      .every((r) => r.verdict === 'clean');
    if (o.discard || (!o.keep && allClean)) rmrf(work);
    else say(`scratch kept in ${work}`);
  }
  clearInterval(loadTimer);
  const { otherPct } = busy.end();
  loads.sort((a, b) => a - b);
  const load = { median: loads[loads.length >> 1], max: loads.at(-1) };
  const summary = Object.fromEntries(
    Object.entries(results).map(([mode, rs]) => [mode, summarize(rs)]),
  );
  const all = Object.values(results).flat();
  const exitCode = all.every((r) => r.verdict === 'clean') ? 0 : 1;
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ consistency: o.consistency ?? null, kill: o.kill, seed: o.seed, load, summary, results })}\n`,
    );
  } else {
    const md = markdown(o, summary, results, startedAt, otherPct, load);
    process.stdout.write(`${md}\n`);
    if (!o['no-write']) writeSection(sectionName(o), md);
  }
  return exitCode;
}

/** Deletes a sample's source subvolume and the snapshots smr left in it (the image stays small). */
function dropSubvolume(sub) {
  const snaps = path.join(sub, '.smr-snapshots', 'app');
  const left = fs.existsSync(snaps) ? fs.readdirSync(snaps).map((n) => path.join(snaps, n)) : [];
  for (const p of left) sh('btrfs', ['subvolume', 'delete', p]);
  sh('btrfs', ['subvolume', 'delete', sub]);
}

function summarize(rs) {
  const count = (v) => rs.filter((r) => r.verdict === v).length;
  const lags = rs.filter((r) => r.verdict === 'clean').map((r) => r.source.txns - r.replica.txns);
  lags.sort((a, b) => a - b);
  return {
    runs: rs.length,
    clean: count('clean'),
    corrupt: count('corrupt'),
    notASourceState: count('not-a-source-state'),
    sourceBroken: count('source-broken'),
    rolledForward: rs.filter((r) => r.rolledForward).length,
    medianLagTxns: lags.length ? lags[Math.floor(lags.length / 2)] : null,
  };
}

function sectionName(o) {
  return `consistency-${o.consistency ?? 'watcher'}${o.kill === 'target' ? '-target-kill' : ''}`;
}

function markdown(o, summary, results, startedAt, otherPct, load) {
  const m = machineFacts();
  const target = o.kill === 'target' && o.consistency === 'crash';
  const title =
    o.consistency === 'crash'
      ? 'Consistency: crash mode (`--consistency crash`)'
      : "Consistency: today's watcher mode";
  const lines = [
    `## ${title}${o.kill === 'target' ? ' — target killed mid-apply' : ''}`,
    '',
    `_Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} on ${m.host}: ${machineLine(m)}. ` +
      `Other programs used ${otherPct.toFixed(0)}% of the machine's CPU during the run (shared machine); ` +
      `load average (1 min) median ${load.median.toFixed(1)}, max ${load.max.toFixed(1)}._`,
    '',
    `Command: \`npm run consistency -- --runs ${o.runs} --mode ${o.modes.join(',')}` +
      `${o.consistency ? ` --consistency ${o.consistency}` : ''}${o.kill !== 'source' ? ` --kill ${o.kill}` : ''}` +
      `${o.btrfs ? ' --btrfs' : ''} --seed ${o.seed}\`.`,
    '',
    '| application | samples | clean | corrupt (does not open / integrity fails) | opens, but not a state the source had | median lag of clean samples (txns) |' +
      (target ? ' restart rolled a committed group forward |' : ''),
    '|---|---|---|---|---|---|' + (target ? '---|' : ''),
  ];
  for (const [mode, s] of Object.entries(summary))
    lines.push(
      `| ${mode} | ${s.runs} | ${s.clean} | ${s.corrupt} | ${s.notASourceState} | ${s.medianLagTxns ?? 'n/a'} |` +
        (target ? ` ${s.rolledForward} of ${s.runs} |` : ''),
    );
  const bad = Object.entries(results).flatMap(([mode, rs]) =>
    rs.filter((r) => r.verdict !== 'clean').map((r) => ({ mode, ...r })),
  );
  if (bad.length) {
    lines.push('', 'What the replica said in the samples that were not clean:', '');
    for (const b of bad)
      lines.push(
        `- ${b.mode}, seed ${b.seed}, source killed ${b.killAtMs} ms after the writer started ` +
          `(source at txn ${b.source.txns ?? '?'}): ${b.verdict} — ${b.replica.reason ?? b.source.reason}`,
      );
  }
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    // A refused `smr` call (BenchError) is one line; anything else keeps its stack.
    const text = err instanceof BenchError ? err.message : (err?.stack ?? err);
    process.stderr.write(`consistency: ${text}\n`);
    process.exitCode = 1;
  },
);
