// `npm run bench -- sustained`: memory and backlog under a long stream of small-file writes
// (issue 18: "capture under sustained load keeps source memory bounded, ≤ 300 MiB through 180 s").
//
// For each tool (smr, lsyncd): a writer process creates small files (default 200 bytes, 1,000 per
// directory) as fast as it can for --seconds; every second the RSS of each daemon (and of its
// process tree, for lsyncd's rsync children) is sampled. When the writer stops, the time until the
// replica holds every file is the backlog's drain time; the trees are then compared by an
// independent walk (names and contents). smr's daemons are sampled from inside too
// (mem-preload.mjs): JS heap in use and reserved, and Buffers outside the heap, at their peaks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  RssSampler,
  currentRss,
  delay,
  diffTrees,
  listFiles,
  mib,
  requireBuild,
  requireTools,
  rmrf,
  say,
  toolVersion,
  workDir,
} from './common.mjs';
import { startLsyncd, startSmr } from './systems.mjs';

export const options = {
  seconds: { type: 'string', default: '180' },
  'per-dir': { type: 'string', default: '1000' },
  size: { type: 'string', default: '200' },
  tools: { type: 'string', default: 'smr,lsyncd' },
  rate: { type: 'string', default: '0' },
  'drain-timeout': { type: 'string', default: '900' },
};

export const help = `usage: node scripts/bench.mjs sustained [options]

  --seconds N        how long the writer writes (default 180)
  --per-dir N        files per directory (default 1000)
  --size BYTES       bytes per file (default 200)
  --tools LIST       smr,lsyncd (default both)
  --rate N           files per second at most (default 0: as fast as the writer can; issue 18's
                     load was 592k files in 180 s, about 3300/s)
  --drain-timeout S  give up waiting for the replica after S seconds (default 900)
  --no-write         do not update bench/RESULTS.md
  --keep             keep bench/work/sustained-*
`;

const GOAL_MIB = 300;
const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mem-preload.mjs');

/** Starts smr with mem-preload.mjs in its daemons (through NODE_OPTIONS, for this start only). */
async function startSampledSmr(dir, version, memBase) {
  const saved = { opts: process.env.NODE_OPTIONS, mem: process.env.SMR_BENCH_MEM };
  process.env.NODE_OPTIONS = `${saved.opts ?? ''} --import=${pathToFileURL(PRELOAD).href}`.trim();
  process.env.SMR_BENCH_MEM = memBase;
  try {
    return await startSmr(dir, version);
  } finally {
    for (const [k, v] of [
      ['NODE_OPTIONS', saved.opts],
      ['SMR_BENCH_MEM', saved.mem],
    ])
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

/** Peaks (KiB, like the RSS figures) of what mem-preload.mjs sampled in each smr daemon. */
function memPeaks(memBase) {
  const dir = path.dirname(memBase);
  const out = {};
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const role = /^m\.(source|target)\.\d+\.jsonl$/.exec(f)?.[1];
    if (!role) continue;
    const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const m = JSON.parse(line);
      for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k] / 1024);
    }
    out[role] = peak;
  }
  return out;
}

// The writer: plain synchronous writes in a child process, so the bench's own event loop
// (sampling, polling) never slows it down. It prints how many files it wrote.
const WRITER = `
const fs = require('node:fs'); const path = require('node:path');
const [dir, seconds, perDir, size, rate] = process.argv.slice(1);
const t0 = Date.now();
const end = t0 + Number(seconds) * 1000;
let n = 0;
while (Date.now() < end) {
  // At a --rate, sleep (synchronously: this process does nothing else) until the next 50 are due.
  const ahead = n / Number(rate) * 1000 - (Date.now() - t0);
  if (Number(rate) > 0 && ahead > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ahead);
  const d = path.join(dir, 'd' + Math.floor(n / Number(perDir)));
  if (n % Number(perDir) === 0) fs.mkdirSync(d, { recursive: true });
  for (let i = 0; i < 50; i++, n++)
    fs.writeFileSync(path.join(d, 'f' + n), ('file ' + n + ' ').padEnd(Number(size), 'x'));
}
process.stdout.write(String(n));
`;

function runWriter(src, o) {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['-e', WRITER, src, String(o.seconds), String(o.perDir), String(o.size), String(o.rate)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`writer exited ${code}`)),
    );
  });
}

/** Seconds until the replica holds `want` files (or null at the timeout). */
async function drain(replica, want, timeoutS) {
  const t0 = performance.now();
  for (;;) {
    const have = listFiles(replica).length;
    if (have >= want) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutS * 1000) return null;
    await delay(1000);
  }
}

async function runTool(tool, o) {
  const dir = workDir(`sustained-${tool}`);
  say(`${tool}: starting`);
  const memBase = path.join(dir, 'mem', 'm');
  fs.mkdirSync(path.dirname(memBase), { recursive: true });
  const sys =
    tool === 'smr' ? await startSampledSmr(dir, o.smrVersion, memBase) : await startLsyncd(dir);
  const load = [];
  const sampler = new RssSampler(1000);
  for (const d of sys.daemons) sampler.add(d.label, d.handle.pid);
  const first = sys.daemons[0];
  const startRss = currentRss(first.handle.pid);
  const timeline = [];
  const tick = setInterval(
    () => {
      timeline.push(currentRss(first.handle.pid) ?? 0);
      load.push(os.loadavg()[0]);
    },
    (o.seconds * 1000) / 6,
  );
  sampler.start();
  try {
    say(`${tool}: writing for ${o.seconds} s`);
    const files = await runWriter(sys.src, o);
    clearInterval(tick);
    const endRss = currentRss(first.handle.pid);
    say(`${tool}: ${files} files written; waiting for the replica`);
    const drainS = await drain(sys.replica, files, o.drainTimeout);
    sampler.sample();
    sampler.stop();
    const diffs = drainS === null ? null : diffTrees(sys.src, sys.replica, 5);
    return {
      mem: memPeaks(memBase),
      load,
      tool,
      label: sys.label,
      files,
      rate: files / o.seconds,
      startRss,
      endRss,
      timeline,
      peaks: sys.daemons.map((d) => ({
        label: d.label,
        peak: sampler.peak.get(d.label) ?? 0,
        tree: sampler.treePeak.get(d.label) ?? 0,
      })),
      drainS,
      diffs,
      alive: sys.daemons.every(
        (d) => d.handle.proc.exitCode === null && d.handle.proc.signalCode === null,
      ),
    };
  } finally {
    clearInterval(tick);
    sampler.stop();
    await sys.stop().catch(() => undefined);
    if (!o.keep) rmrf(dir);
  }
}

function render(results, o) {
  const rows = results.map((r) => {
    const main = r.peaks[0];
    const others = r.peaks
      .slice(1)
      .map((p) => `${p.label} ${mib(p.peak)}`)
      .join(', ');
    const equal = r.diffs === null ? 'not drained' : r.diffs.length ? 'DIFFER' : 'equal';
    return (
      `| ${r.label} | ${r.files.toLocaleString('en-US')} (${Math.round(r.rate)}/s) | ` +
      `${mib(r.startRss ?? 0)} → ${mib(r.endRss ?? 0)} | ${mib(main.peak)} (tree ${mib(main.tree)}) | ` +
      `${others || '—'} | ${r.drainS === null ? `> ${o.drainTimeout} s` : `${r.drainS.toFixed(0)} s`} | ` +
      `${equal}${r.alive ? '' : ', a daemon died'} |`
    );
  });
  const smr = results.find((r) => r.tool === 'smr');
  const verdict = smr
    ? `smr's source peaked at ${mib(smr.peaks[0].peak)}: goal ≤ ${GOAL_MIB} MiB ` +
      `${smr.peaks[0].peak / 1024 <= GOAL_MIB ? 'met' : 'NOT met'}.`
    : '';
  const lines = results.map(
    (r) =>
      `- ${r.label}: RSS every ${(o.seconds / 6).toFixed(0)} s during the writes: ${r.timeline.map((k) => mib(k)).join(', ')}; ` +
      `load average (1 min) then: ${r.load.map((l) => l.toFixed(1)).join(', ')}`,
  );
  for (const r of results)
    for (const [role, p] of Object.entries(r.mem))
      lines.push(
        `- ${r.label} ${role}, peaks sampled inside: heap used ${mib(p.heapUsed)}, heap reserved ` +
          `${mib(p.heapTotal)}, external ${mib(p.external)} (of it ArrayBuffers ${mib(p.arrayBuffers)})`,
      );
  return `## Sustained small-file writes (issue 18)

{{stamp}}

A writer creates ${o.size}-byte files, ${o.perDir} per directory, ${o.rate ? `at up to ${o.rate} files/s` : 'as fast as it can'} for
${o.seconds} s; each tool replicates them to a replica on the same machine. "Drain" is the time
from the writer's end until the replica holds every file; the trees are then compared by an
independent walk. The first daemon is smr's source or lsyncd itself.

| tool | files written | first daemon RSS start → end of writes | its peak RSS | other daemons' peak | drain | trees |
|---|---|---|---|---|---|---|
${rows.join('\n')}

${lines.join('\n')}

${verdict}
`;
}

/** Runs the benchmark; returns its markdown section. */
export async function run(opts) {
  requireBuild();
  const tools = opts.tools.split(',').filter(Boolean);
  if (tools.includes('lsyncd')) requireTools(['lsyncd', 'rsync']);
  const o = {
    seconds: Number(opts.seconds),
    perDir: Number(opts['per-dir']),
    size: Number(opts.size),
    drainTimeout: Number(opts['drain-timeout']),
    rate: Number(opts.rate),
    keep: opts.keep,
    smrVersion: JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')).version,
  };
  const results = [];
  for (const t of tools) results.push(await runTool(t, o));
  say(`done (${toolVersion('lsyncd', ['--version']) ?? 'no lsyncd'})`);
  return render(results, o);
}
