#!/usr/bin/env node
// `node scripts/consistency/routes/run.mjs`: the two routes to a crash-consistent capture,
// measured side by side in one run on this machine (issue 15; docs/CONSISTENCY.md).
//
//   point-in-time reads: writers on a loop-mounted btrfs subvolume, bare and with a read-only
//     snapshot taken (and the one before the previous deleted) every 200/50/10 ms; finding what
//     changed between two snapshots; deleting snapshots; XFS reflink and LVM thin feasibility.
//   write interception: the same writers through FUSE passthroughs over ext4 (libfuse's C
//     examples, and a Node one on fuse-napi, plain and journalling every mutation), and what the
//     application sees when the FUSE daemon is killed or stopped under it.
//
// Writers (synced-writer.c): one-row SQLite transactions with synchronous=FULL in WAL and in
// rollback-journal mode, and 4 KiB pwrite + fdatasync at random offsets. Needs root, cc,
// libsqlite3-dev, libfuse3-dev (for the examples), btrfs-progs, fuse3; xfsprogs and lvm2 for the
// last part. Options: --seconds N (per measurement, 5), --rounds N (2), --cycles 200,50,10,
// --no-write, --keep.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  WORK,
  cpuWatch,
  delay,
  machineFacts,
  machineLine,
  say,
  treeCpuMs,
  writeSection,
} from '../../bench/common.mjs';
import { deleteSnapshot, mountBtrfs, sh, snapshot, unmountBtrfs } from './btrfs-lib.mjs';
import { measureDiscovery } from './discovery.mjs';
import { buildTools, daemonDeath, mountPassthrough, nodeFuse } from './fuse-lib.mjs';
import { lvmThin, xfsReflink } from './other-fs.mjs';

const WRITERS = ['sqlite-wal', 'sqlite-rollback', 'fsync'];
const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

/** Runs one writer for `seconds` in `dir`; `during(proc)` runs alongside until it exits. */
async function measure(tools, writer, dir, seconds, during, cpuPid) {
  fs.mkdirSync(dir, { recursive: true });
  const args =
    writer === 'fsync'
      ? ['fsync', dir, String(seconds)]
      : ['sqlite', dir, String(seconds), writer === 'sqlite-wal' ? 'wal' : 'delete'];
  const cpu0 = cpuPid ? treeCpuMs([cpuPid]) : 0;
  const p = spawn(tools.writer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  let running = true;
  const exited = new Promise((r) => p.once('exit', (code) => ((running = false), r(code))));
  const side = during ? during(() => running) : Promise.resolve(null);
  const code = await exited;
  const extra = await side;
  if (code !== 0) throw new Error(`writer ${writer} in ${dir} failed (${code}): ${err}`);
  const r = JSON.parse(out);
  const cpuMs = cpuPid ? treeCpuMs([cpuPid]) - cpu0 : null;
  return {
    opsPerSec: r.ops / r.seconds,
    p50: r.p50_us,
    p99: r.p99_us,
    max: r.max_us,
    cpuUsPerOp: cpuMs === null ? null : (cpuMs * 1000) / r.ops,
    extra,
  };
}

/** Takes a read-only snapshot every `cycleMs` while `running()`, keeping the last two. */
async function snapshotLoop(m, cycleMs, running, tag) {
  const snapMs = [];
  const delMs = [];
  const names = [];
  let i = 0;
  const t0 = performance.now();
  while (running()) {
    const c0 = performance.now();
    const name = `${tag}-${i++}`;
    snapshot(m.data, m.snaps, name);
    snapMs.push(performance.now() - c0);
    names.push(name);
    while (names.length > 2) {
      const d0 = performance.now();
      deleteSnapshot(m.snaps, names.shift());
      delMs.push(performance.now() - d0);
    }
    const wait = cycleMs - (performance.now() - c0);
    await delay(Math.max(0, wait));
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const n of names) deleteSnapshot(m.snaps, n);
  return { cycles: i, cyclesPerSec: i / seconds, snapMs, delMs };
}

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      cycles: { type: 'string', default: '200,50,10' },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  return {
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    cycles: values.cycles.split(',').map(Number),
    write: !values['no-write'],
    keep: values.keep,
  };
}

async function main(argv) {
  const o = options(argv);
  if (process.getuid?.() !== 0) throw new Error('needs root (loop mounts, FUSE, btrfs ioctls)');
  const startedAt = new Date();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-routes-'));
  const tools = buildTools(path.join(WORK, 'routes-build'));
  tools.nodeFuse = nodeFuse(path.join(WORK, 'node-fuse'));
  say(
    `tools: ${Object.keys(tools)
      .filter((k) => tools[k])
      .join(', ')}`,
  );
  const busy = cpuWatch([]);
  const m = mountBtrfs(work);
  const ext4 = path.join(work, 'ext4');
  const configs = [
    { label: 'ext4 (bare)', dir: () => ext4 },
    { label: 'btrfs subvolume (bare)', dir: () => m.data },
    ...o.cycles.map((c) => ({
      label: `btrfs + snapshot every ${c} ms`,
      dir: () => m.data,
      cycle: c,
    })),
  ];
  const fuseKinds = [
    ...(tools.passthroughLl ? [['ll', 'FUSE passthrough_ll (C, libfuse example)']] : []),
    ...(tools.nodeFuse
      ? [
          ['node', 'FUSE passthrough in Node (fuse-napi)'],
          ['node-journal', 'FUSE Node passthrough + journal of every write'],
        ]
      : []),
  ];
  for (const [kind, label] of fuseKinds) configs.push({ label, fuse: kind });
  const results = new Map(); // label -> writer -> [runs]
  const snapStats = new Map(); // cycle -> [loop stats]
  let n = 0;
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const writer of WRITERS) {
        for (const c of configs) {
          const tag = `r${round}-${writer}-${n++}`;
          let r;
          if (c.fuse) {
            const backing = path.join(work, 'fuse-back', tag);
            const mp = await mountPassthrough(
              c.fuse,
              tools,
              backing,
              path.join(work, 'fuse-mnt', tag),
              path.join(work, `${tag}.journal`),
            );
            try {
              r = await measure(tools, writer, mp.appDir, o.seconds, null, mp.pid);
            } finally {
              await mp.unmount();
            }
          } else {
            const during = c.cycle ? (running) => snapshotLoop(m, c.cycle, running, tag) : null;
            r = await measure(tools, writer, path.join(c.dir(), tag), o.seconds, during);
            if (c.cycle)
              snapStats.set(c.cycle, [...(snapStats.get(c.cycle) ?? []), { writer, ...r.extra }]);
          }
          say(
            `${c.label} / ${writer}: ${r.opsPerSec.toFixed(0)} ops/s, p50 ${(r.p50 / 1000).toFixed(2)} ms, p99 ${(r.p99 / 1000).toFixed(2)} ms`,
          );
          if (!results.has(c.label)) results.set(c.label, new Map());
          const byWriter = results.get(c.label);
          byWriter.set(writer, [...(byWriter.get(writer) ?? []), r]);
        }
      }
    }
    say('discovery: snapshots every 50 ms of a SQLite WAL writer, all kept');
    const disc = await discovery(m, tools, o.seconds);
    say('FUSE daemon deaths');
    const deaths = [];
    for (const [kind] of fuseKinds.filter(([k]) => k !== 'node-journal'))
      for (const stop of [false, true]) deaths.push(await daemonDeath(kind, tools, work, { stop }));
    say('XFS reflink and LVM thin');
    const xfs = xfsReflink(work);
    const lvm = lvmThin(work);
    const { otherPct } = busy.end();
    const md = markdown({
      o,
      startedAt,
      otherPct,
      results,
      snapStats,
      disc,
      deaths,
      xfs,
      lvm,
      tools,
    });
    process.stdout.write(`${md}\n`);
    if (o.write) writeSection('consistency-routes', md);
  } finally {
    unmountBtrfs(m);
    if (!o.keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Keeps every snapshot of a 50 ms run, then measures discovery on pairs and their deletion. */
async function discovery(m, tools, seconds) {
  const dir = path.join(m.data, 'discovery');
  const names = [];
  let i = 0;
  await measure(tools, 'sqlite-wal', dir, seconds, async (running) => {
    while (running()) {
      snapshot(m.data, m.snaps, `d-${i}`);
      names.push(`d-${i++}`);
      await delay(50);
    }
  });
  const mid = Math.floor(names.length / 2);
  const pairs = [];
  for (let k = mid; k < Math.min(names.length - 1, mid + 10); k++)
    pairs.push([path.join(m.snaps, names[k]), path.join(m.snaps, names[k + 1])]);
  const rows = measureDiscovery(pairs);
  const d0 = performance.now();
  const delMs = [];
  for (const n of names) {
    const t = performance.now();
    deleteSnapshot(m.snaps, n);
    delMs.push(performance.now() - t);
  }
  const deleteAllMs = performance.now() - d0;
  const s0 = performance.now();
  sh('btrfs', ['subvolume', 'sync', m.mnt]);
  const cleanerMs = performance.now() - s0;
  return { rows, kept: names.length, deleteAllMs, delMs, cleanerMs };
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

function markdown({ o, startedAt, otherPct, results, snapStats, disc, deaths, xfs, lvm, tools }) {
  const m = machineFacts();
  const L = [
    '## Consistency routes: point-in-time reads (btrfs) vs write interception (FUSE)',
    '',
    `_Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} on ${m.host}: ${machineLine(m)}. ` +
      `The btrfs file system is a loop-mounted image file on that ext4 disk. Other programs used ` +
      `${otherPct.toFixed(0)}% of the machine's CPU during the run (a shared machine: compare rows ` +
      `of this run with each other, not with other runs)._`,
    '',
    `Command: \`node scripts/consistency/routes/run.mjs --seconds ${o.seconds} --rounds ${o.rounds} --cycles ${o.cycles.join(',')}\`. ` +
      `Each cell: median over ${o.rounds} rounds (interleaved) of a ${o.seconds} s run of one writer process ` +
      '(scripts/consistency/routes/synced-writer.c); latency per transaction / per write+fdatasync, in ms.',
    '',
    '| where the application writes | SQLite WAL, sync=FULL: txn/s | p50 | p99 | SQLite rollback journal: txn/s | p50 | p99 | 4 KiB write+fdatasync: ops/s | p50 | p99 | FUSE daemon CPU per fsync-loop op |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [label, byWriter] of results) {
    const cells = WRITERS.flatMap((w) => {
      const rs = byWriter.get(w) ?? [];
      return [
        median(rs.map((r) => r.opsPerSec)).toFixed(0),
        f2(median(rs.map((r) => r.p50)) / 1000),
        f2(median(rs.map((r) => r.p99)) / 1000),
      ];
    });
    const cpu = (byWriter.get('fsync') ?? []).map((r) => r.cpuUsPerOp).filter((v) => v !== null);
    L.push(`| ${label} | ${cells.join(' | ')} | ${cpu.length ? `${f1(median(cpu))} µs` : '—'} |`);
  }
  L.push(
    '',
    'Snapshots during those runs (in-process `BTRFS_IOC_SNAP_CREATE_V2` / `BTRFS_IOC_SNAP_DESTROY` through koffi; the two newest kept):',
    '',
    '| cycle asked | cycles achieved per s | snapshot ioctl p50 | p99 | max | delete ioctl p50 | p99 |',
    '|---|---|---|---|---|---|---|',
  );
  for (const [cycle, loops] of snapStats) {
    const snap = loops.flatMap((l) => l.snapMs);
    const del = loops.flatMap((l) => l.delMs);
    L.push(
      `| ${cycle} ms | ${f1(median(loops.map((l) => l.cyclesPerSec)))} | ${f2(pct(snap, 50))} ms | ${f2(pct(snap, 99))} ms | ${f2(Math.max(...snap))} ms | ${f2(pct(del, 50))} ms | ${f2(pct(del, 99))} ms |`,
    );
  }
  const d = disc.rows;
  const med = (k) => median(d.map((r) => r[k]));
  L.push(
    '',
    `What changed between two consecutive snapshots (50 ms apart, SQLite WAL writer, whose WAL file stays about 4 MiB as SQLite reuses it after each checkpoint; medians of ${d.length} pairs):`,
    '',
    '| method | time per pair | finds |',
    '|---|---|---|',
    `| watcher hints (today): read each changed file whole from the snapshot | ${f2(med('readWholeMs'))} ms | ${med('files')} files, ${(med('wholeBytes') / 1024).toFixed(0)} KiB read |`,
    `| \`btrfs subvolume find-new SNAP GEN\` (changed extents; no deletes, renames, truncates) | ${f2(med('findNewMs'))} ms (+ ${f2(med('readRangesMs'))} ms to read those ranges) | ${med('extents')} extents, ${(med('changedBytes') / 1024).toFixed(0)} KiB |`,
    `| \`btrfs send --no-data -p A B \\| btrfs receive --dump\` (every operation, renames and unlinks too) | ${f2(med('sendMs'))} ms | ${med('sendWrites')} write ranges, ${(med('sendBytes') / 1024).toFixed(0)} KiB |`,
    '',
    `Deleting the ${disc.kept} snapshots kept by that run: ${f1(disc.deleteAllMs)} ms of ioctls (p50 ${f2(pct(disc.delMs, 50))} ms each); ` +
      `\`btrfs subvolume sync\` (the cleaner reclaiming them) then took ${f1(disc.cleanerMs)} ms.`,
    '',
    'FUSE daemon killed (-9) or stopped (SIGSTOP for 3 s, then -9) under a writer appending a counter + fdatasync:',
    '',
    '| passthrough | daemon | writer after the kill | hung? | acknowledged writes lost | while stopped |',
    '|---|---|---|---|---|---|',
  );
  for (const x of deaths)
    L.push(
      `| ${x.kind} | ${x.stop ? 'stopped, then killed' : 'killed'} | ${x.error ?? 'no error'}${x.afterMs !== null ? ` (${x.afterMs} ms after the kill)` : ''} | ${x.hung ? `yes (state ${x.writerState})` : 'no'} | ${x.lostAcked} of ${x.acked} | ${x.whileStopped ? `writer blocked (state ${x.whileStopped.state}), ${x.whileStopped.ackedDuringStop} writes acknowledged in 3 s` : '—'} |`,
    );
  L.push(
    '',
    'Sources that are not btrfs:',
    '',
    `- XFS (reflink=1, loop image): ${xfs.ok ? `\`cp --reflink=always\` of a 64 MiB file: median ${f1(xfs.medianMs)} ms, max ${f1(xfs.maxMs)} ms — per file, so a group of several files is not one instant` : `not measured: ${xfs.error}`}.`,
    `- LVM thin snapshot (loop device as PV): ${lvm.ok ? `\`lvcreate -s\` median ${f1(lvm.snapshotMedianMs)} ms, activate ${f1(lvm.activateMs)} ms, mount ro,noload ${f1(lvm.mountMs)} ms` : `not possible here: ${lvm.error}`}.`,
    `- Node FUSE binding used: ${tools.nodeFuse ? 'fuse-napi 2.x (FUSE 3; declared for Node 22+, built from source here against libfuse3-dev)' : 'none could be installed'}.`,
  );
  return L.join('\n');
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`routes: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
