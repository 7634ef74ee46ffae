// `npm run bench -- latency`: write→visible latency on loopback, smr against lsyncd (delay = 0,
// rsync to a local rsync daemon), in the same run on the same machine.
//
// For each tool: one small write at a time to ~20 files, spread in time (a jittered 20–50 ms pause
// after each write became visible); the time from the start of the write until the replica file
// holds exactly the bytes written, found by reading that one file every ~1 ms. Then a burst of
// 1,000 small files in 10 new directories, written as fast as possible, timed from the first
// mkdir until every file is on the replica with the right content. Peak RSS (VmHWM) of each
// daemon is read right before it is stopped; VmRSS of each daemon and of its process tree is
// also sampled every 100 ms as a cross-check.
//
// Diagnosis (smr only): --stages polls the source journal and both durable counters next to the
// replica; --trace preloads trace-preload.mjs into the daemons and breaks every write down by
// stage; --cpu-prof adds node --cpu-prof. Traced runs go to their own section, "latency-trace",
// since the tracing slows smr a little and is not the comparison.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BenchError,
  ROOT,
  RssSampler,
  cpuWatch,
  delay,
  treeCpuMs,
  waitForQuiet,
  diffTrees,
  mib,
  ms,
  peakRss,
  requireBuild,
  requireTools,
  rmrf,
  say,
  summarize,
  toolVersion,
  workDir,
} from './common.mjs';
import { startLsyncd, startSmr } from './systems.mjs';

export const options = {
  writes: { type: 'string', default: '250' },
  files: { type: 'string', default: '20' },
  burst: { type: 'string', default: '1000' },
  'gap-min': { type: 'string', default: '20' },
  'gap-max': { type: 'string', default: '50' },
  tools: { type: 'string', default: 'smr,lsyncd' },
  repeat: { type: 'string', default: '1' },
  stages: { type: 'boolean', default: false },
  trace: { type: 'boolean', default: false },
  'cpu-prof': { type: 'boolean', default: false },
  strict: { type: 'boolean', default: false },
  'quiet-wait': { type: 'string', default: '120' },
};

export const help = `usage: node scripts/bench.mjs latency [options]

  --writes N        measured small writes per tool (default 250, at least 200 for the issue)
  --files N         files the small writes rotate over (default 20)
  --burst N         files in the burst (default 1000)
  --gap-min MS      shortest pause after a write became visible (default 20)
  --gap-max MS      longest pause (default 50)
  --tools LIST      smr,lsyncd (default both)
  --repeat N        rounds (tool order alternates); the table shows the last round, a second
                    table every round (default 1)
  --stages          smr only: also time capture (journal grows) and the durable acks, per write
  --trace           smr only: preload scripts/bench/trace-preload.mjs into both daemons and break
                    each write's latency down by stage (inotify, capture, journal, wire, apply)
  --quiet-wait S    before each tool, wait up to S seconds (default 120, 0 = no wait) until other
                    programs use under 25% of the CPU (the machine may be shared)
  --cpu-prof        smr only: run both daemons with node --cpu-prof and list where their CPU time
                    went during the small writes and during the burst (implies --trace)
                    (--trace and --cpu-prof results go to the "latency-trace" section)
  --strict          exit 1 when an smr goal is missed
  --no-write        do not update bench/RESULTS.md
  --keep            keep bench/work/latency-*
`;

const VISIBLE_TIMEOUT_MS = 10_000;
const BURST_TIMEOUT_MS = 180_000;
const GOALS = { p50: 20, p99: 100 };

// ---------------------------------------------------------------------------------------------
// Measurements

function payload(tool, i) {
  // A unique line of 64..192 bytes: the size changes from write to write, as real edits do.
  const head = `${tool} write ${i} at ${Date.now()} `;
  const len = 64 + Math.floor(Math.random() * 129);
  return Buffer.from(head.padEnd(len - 1, '.') + '\n');
}

/** Polls one file every ~1 ms until it holds exactly `want`; returns the time seen (or null). */
async function waitContent(file, want, t0, timeoutMs = VISIBLE_TIMEOUT_MS) {
  for (;;) {
    try {
      const got = fs.readFileSync(file);
      if (got.equals(want)) return performance.now();
    } catch {
      // not there yet
    }
    if (performance.now() - t0 > timeoutMs) return null;
    await delay(1);
  }
}

/** smr --stages: watches the source journal and the durable counters next to the replica poll. */
function smrProbe(sys) {
  const journalDir = path.join(sys.sourceState, 'connections', 'bench', 'journal');
  const ackFile = path.join(journalDir, 'acked.counter');
  const replicaCounters = path.join(sys.targetState, 'target-replicas');
  const journalBytes = () => {
    let n = 0;
    for (const f of fs.readdirSync(journalDir)) {
      if (f === 'acked.counter') continue;
      try {
        n += fs.statSync(path.join(journalDir, f)).size;
      } catch {
        // trimmed meanwhile
      }
    }
    return n;
  };
  const read = (f) => {
    try {
      return fs.readFileSync(f).toString('hex');
    } catch {
      return '';
    }
  };
  const appliedFile = () => {
    const names = fs.existsSync(replicaCounters) ? fs.readdirSync(replicaCounters) : [];
    return names.length ? path.join(replicaCounters, names[0]) : null;
  };
  return {
    snapshot() {
      const af = appliedFile();
      return { journal: journalBytes(), acked: read(ackFile), applied: af ? read(af) : '', af };
    },
    /** Polls until capture, durable apply and source ack were all seen (or timeout). */
    async follow(before, file, want, t0) {
      const seen = { capture: null, visible: null, applied: null, acked: null };
      for (;;) {
        const now = performance.now();
        if (seen.capture === null && journalBytes() !== before.journal) seen.capture = now;
        if (seen.visible === null) {
          try {
            if (fs.readFileSync(file).equals(want)) seen.visible = now;
          } catch {
            // not yet
          }
        }
        const af = before.af ?? appliedFile();
        if (seen.applied === null && af && read(af) !== before.applied) seen.applied = now;
        if (seen.acked === null && read(ackFile) !== before.acked) seen.acked = now;
        if (Object.values(seen).every((v) => v !== null)) break;
        if (now - t0 > VISIBLE_TIMEOUT_MS) break;
        await delay(1);
      }
      const rel = (v) => (v === null ? null : v - t0);
      return {
        capture: rel(seen.capture),
        visible: rel(seen.visible),
        applied: rel(seen.applied),
        acked: rel(seen.acked),
      };
    },
  };
}

async function measureSmallWrites(sys, o) {
  const dir = path.join(sys.src, 'lat');
  const rdir = path.join(sys.replica, 'lat');
  fs.mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: o.files }, (_, i) => `file-${String(i).padStart(2, '0')}.txt`);
  // Create the files and let them reach the replica: the timed writes are modifications.
  const initial = names.map((n, i) => payload(sys.tool, -1 - i));
  names.forEach((n, i) => fs.writeFileSync(path.join(dir, n), initial[i]));
  for (let i = 0; i < names.length; i++) {
    if (
      (await waitContent(path.join(rdir, names[i]), initial[i], performance.now(), 60_000)) === null
    )
      throw new BenchError(`${sys.tool}: initial file ${names[i]} never reached the replica`);
  }
  const probe = o.stages && sys.tool === 'smr' ? smrProbe(sys) : null;
  const lat = [];
  const stages = [];
  const writes = [];
  let timeouts = 0;
  const warmup = names.length;
  const total = warmup + o.writes;
  for (let i = 0; i < total; i++) {
    const n = names[i % names.length];
    const want = payload(sys.tool, i);
    const before = probe?.snapshot();
    const t0 = performance.now();
    fs.writeFileSync(path.join(dir, n), want);
    const tw = performance.now();
    let seen;
    if (probe) {
      const s = await probe.follow(before, path.join(rdir, n), want, t0);
      if (i >= warmup) stages.push(s);
      seen = s.visible === null ? null : t0 + s.visible;
    } else seen = await waitContent(path.join(rdir, n), want, t0);
    if (i >= warmup) {
      writes.push({
        name: n,
        t0: performance.timeOrigin + t0,
        writeMs: tw - t0,
        seen: seen === null ? null : performance.timeOrigin + seen,
      });
      if (seen === null) timeouts++;
      lat.push(seen === null ? VISIBLE_TIMEOUT_MS : seen - t0);
    } else if (seen === null) {
      throw new BenchError(
        `${sys.tool}: warm-up write to ${n} not visible after ${VISIBLE_TIMEOUT_MS} ms`,
      );
    }
    await delay(o.gapMin + Math.random() * (o.gapMax - o.gapMin));
  }
  return { lat, timeouts, stages, writes, writeMs: summarize(writes.map((w) => w.writeMs)) };
}

async function measureBurst(sys, o) {
  const dirs = 10;
  const files = [];
  for (let i = 0; i < o.burst; i++) {
    const d = `burst/d${String(i % dirs).padStart(2, '0')}`;
    const name = `f${String(Math.floor(i / dirs)).padStart(3, '0')}.dat`;
    const size = 1024 + Math.floor(Math.random() * 3073);
    files.push({ d, name, rel: `${d}/${name}`, data: crypto.randomBytes(size) });
  }
  const dirNames = [...new Set(files.map((f) => f.d))];
  const t0 = performance.now();
  fs.mkdirSync(path.join(sys.src, 'burst'));
  for (const d of dirNames) fs.mkdirSync(path.join(sys.src, d));
  for (const f of files) fs.writeFileSync(path.join(sys.src, f.rel), f.data);
  const tWritten = performance.now();
  const abs = (t) => performance.timeOrigin + t;
  // Poll: list each replica directory, read only files that are listed and not yet verified.
  const pending = new Map(dirNames.map((d) => [d, new Map()]));
  for (const f of files) pending.get(f.d).set(f.name, f.data);
  let left = files.length;
  let tDone = null;
  while (tDone === null) {
    for (const [d, want] of pending) {
      if (!want.size) continue;
      let names;
      try {
        names = fs.readdirSync(path.join(sys.replica, d));
      } catch {
        continue;
      }
      for (const name of names) {
        const data = want.get(name);
        if (!data) continue;
        const file = path.join(sys.replica, d, name);
        try {
          if (fs.statSync(file).size !== data.length) continue;
          if (!fs.readFileSync(file).equals(data)) continue;
        } catch {
          continue;
        }
        want.delete(name);
        left--;
      }
    }
    if (left === 0) tDone = performance.now();
    else if (performance.now() - t0 > BURST_TIMEOUT_MS)
      throw new BenchError(
        `${sys.tool}: burst not complete after ${BURST_TIMEOUT_MS} ms (${left} files missing)`,
      );
    else await delay(5);
  }
  // Final check: every burst file, byte for byte.
  for (const f of files) {
    if (!fs.readFileSync(path.join(sys.replica, f.rel)).equals(f.data))
      throw new BenchError(`${sys.tool}: ${f.rel} differs on the replica after the burst`);
  }
  return {
    ms: tDone - t0,
    writeMs: tWritten - t0,
    t0: abs(t0),
    tWritten: abs(tWritten),
    tDone: abs(tDone),
  };
}

async function runTool(tool, o, round) {
  const dir = workDir(`latency-${tool}`);
  say(`round ${round}: ${tool}: starting (${dir})`);
  if (o.quietWait > 0) await waitForQuiet({ maxWaitMs: o.quietWait * 1000 });
  const sys =
    tool === 'smr' ? await startSmr(dir, o.smrVersion, o.trace, o.cpuProf) : await startLsyncd(dir);
  const sampler = new RssSampler(100);
  for (const d of sys.daemons) sampler.add(d.label, d.handle.pid);
  sampler.start();
  const cpu = cpuWatch(sys.daemons.map((d) => d.handle.pid));
  let result;
  try {
    say(`round ${round}: ${tool}: ${o.writes} small writes`);
    const perDaemon = () =>
      Object.fromEntries(sys.daemons.map((d) => [d.label, treeCpuMs([d.handle.pid])]));
    const hr = () => Number(process.hrtime.bigint() / 1000n);
    const h0 = hr();
    const c0 = perDaemon();
    const small = await measureSmallWrites(sys, o);
    const c1 = perDaemon();
    const h1 = hr();
    const s = summarize(small.lat);
    say(
      `round ${round}: ${tool}: p50 ${ms(s.p50)} p90 ${ms(s.p90)} p99 ${ms(s.p99)} max ${ms(s.max)}`,
    );
    say(`round ${round}: ${tool}: burst of ${o.burst} files`);
    const burst = await measureBurst(sys, o);
    await delay(300); // let trailing work (acks, checkpoints) finish before the tree comparison
    const c2 = perDaemon();
    const h2 = hr();
    say(`round ${round}: ${tool}: burst ${ms(burst.ms)} (written in ${ms(burst.writeMs)})`);
    const diffs = diffTrees(sys.src, sys.replica);
    if (diffs.length)
      throw new BenchError(`${tool}: replica differs from source:\n  ${diffs.join('\n  ')}`);
    sampler.sample();
    const busy = cpu.end();
    say(
      `round ${round}: ${tool}: other programs used ${busy.otherPct.toFixed(0)}% of the machine's CPU meanwhile`,
    );
    const hwm = Object.fromEntries(sys.daemons.map((d) => [d.label, peakRss(d.handle.pid)]));
    result = {
      tool,
      label: sys.label,
      setup: sys.setup,
      stats: s,
      timeouts: small.timeouts,
      writeMs: small.writeMs,
      stages: small.stages,
      burst,
      hwm,
      busy,
      cpuMs: Object.fromEntries(
        Object.keys(c0).map((k) => [k, { small: c1[k] - c0[k], burst: c2[k] - c1[k] }]),
      ),
      windows: { small: [h0, h1], burst: [h1, h2] },
      sampled: Object.fromEntries(sampler.peak),
      treeSampled: Object.fromEntries(sampler.treePeak),
    };
    result.small = small;
  } finally {
    sampler.stop();
    await sys.stop();
  }
  try {
    if (o.trace && tool === 'smr')
      result.trace = analyzeTrace(sys, result.small.writes, result.burst);
    if (o.cpuProf && tool === 'smr') result.profile = summarizeProfiles(sys, result.windows);
  } finally {
    if (!o.keep) rmrf(dir);
  }
  delete result.small;
  return result;
}

// ---------------------------------------------------------------------------------------------
// --cpu-prof: where the daemons' CPU time went

function frameGroup(cf) {
  const url = cf.url ?? '';
  const name = cf.functionName || '(anonymous)';
  if (!url) return name.startsWith('(') ? name : `native ${name}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (nm) return `${nm[1]} ${name}`;
  const d = /\/dist\/(.*)$/.exec(url);
  if (d) return `smr:${d[1].replace(/\.js$/, '.ts')} ${name}`;
  if (url.startsWith('node:')) return `${url} ${name}`;
  return `${path.basename(url)} ${name}`;
}

function moduleOf(group) {
  if (group.startsWith('(')) return group;
  return group.split(' ')[0];
}

function summarizeProfile(file, windows) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const out = {};
  for (const w of Object.keys(windows)) out[w] = { total: 0, groups: new Map(), mods: new Map() };
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    const node = byId.get(prof.samples[i]);
    if (!node) continue;
    const g = frameGroup(node.callFrame);
    if (g === '(idle)') continue;
    const dt = prof.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    for (const [w, [a, b]] of Object.entries(windows)) {
      if (t < a || t > b) continue;
      const o = out[w];
      o.total += dt;
      o.groups.set(g, (o.groups.get(g) ?? 0) + dt);
      o.mods.set(moduleOf(g), (o.mods.get(moduleOf(g)) ?? 0) + dt);
    }
  }
  return out;
}

function summarizeProfiles(sys, windows) {
  const dir = path.join(sys.dir, 'prof');
  const byPid = new Map(sys.daemons.map((d) => [d.handle.pid, d.label]));
  const res = {};
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = /^CPU\.[^.]+\.[^.]+\.(\d+)\./.exec(f);
    const label = m && byPid.get(Number(m[1]));
    if (label) res[label] = summarizeProfile(path.join(dir, f), windows);
  }
  return res;
}

function profileLines(profile) {
  const out = [];
  for (const [label, wins] of Object.entries(profile)) {
    for (const [w, o] of Object.entries(wins)) {
      if (!o.total) continue;
      const top = (m, n) =>
        [...m.entries()]
          .sort((x, y) => y[1] - x[1])
          .slice(0, n)
          .map(([k, v]) => `${k} ${((100 * v) / o.total).toFixed(0)}%`)
          .join(', ');
      out.push(
        `- ${label}, ${w === 'small' ? 'small writes' : 'burst'} (${(o.total / 1000).toFixed(0)} ms sampled on the JS thread): ` +
          `by module: ${top(o.mods, 8)}. Top functions: ${top(o.groups, 10)}.`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// --trace: stage breakdown from the daemons' preload traces

function loadTrace(file) {
  const ev = [];
  const gcs = [];
  let loop = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const sp = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp + 1);
    const t = Number(line.slice(0, sp));
    const kind = sp2 < 0 ? line.slice(sp + 1) : line.slice(sp + 1, sp2);
    const detail = sp2 < 0 ? '' : line.slice(sp2 + 1);
    if (kind.startsWith('loopdelay')) loop = line.slice(sp + 1);
    else if (kind === 'gc')
      gcs.push({ t, dur: Number(detail.split(' ')[0]), kind: detail.split(' ')[1] });
    else ev.push({ t, kind, detail });
  }
  return { ev, loop, gcs };
}

/** First event at or after `t` matching (binary search on time, then scan). */
function firstAfter(ev, t, pred) {
  let lo = 0;
  let hi = ev.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ev[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < ev.length; i++) if (pred(ev[i])) return ev[i];
  return null;
}

function lastBetween(ev, a, b, pred) {
  let found = null;
  for (const e of ev) if (e.t >= a && e.t <= b && pred(e)) found = e;
  return found;
}

function analyzeTrace(sys, writes, burst) {
  const byPid = new Map(sys.daemons.map((d) => [d.handle.pid, d.label]));
  const traces = {};
  for (const f of fs.readdirSync(sys.dir)) {
    const m = /^trace\.(\d+)\.trace$/.exec(f);
    if (m && byPid.has(Number(m[1])))
      traces[byPid.get(Number(m[1]))] = loadTrace(path.join(sys.dir, f));
  }
  const src = traces.source?.ev ?? [];
  const tgt = traces.target?.ev ?? [];
  const seg = {
    'write → inotify event in the source': [],
    'event → last capture hint for the file': [],
    'last hint → capture opens the file': [],
    'open → journal append (writev)': [],
    'append → frame written to the socket': [],
    'socket → target receives': [],
    'received → apply starts (open)': [],
    'apply (open → close)': [],
    'applied → bench sees it': [],
  };
  const keys = Object.keys(seg);
  const lstatsPerWrite = [];
  let complete = 0;
  for (const w of writes) {
    if (w.seen === null) continue;
    const sFile = path.join(sys.src, 'lat', w.name);
    const rFile = path.join(sys.replica, 'lat', w.name);
    const watch = firstAfter(
      src,
      w.t0,
      (e) => e.kind === 'watch' && e.detail.endsWith(`/lat/${w.name}`),
    );
    const check = watch && firstAfter(src, watch.t, (e) => e.kind === 'open' && e.detail === sFile);
    // The last capture hint for this file before its capture (the preload hooks Capture#hint;
    // chokidar's "change" event when that hook is missing; else the inotify event itself).
    const hint =
      (check &&
        lastBetween(
          src,
          watch.t,
          check.t,
          (e) =>
            (e.kind === 'hint' && e.detail === `lat/${w.name}`) ||
            (e.kind === 'all' && e.detail.endsWith(`/lat/${w.name}`)),
        )) ||
      watch;
    const append = check && firstAfter(src, check.t, (e) => e.kind === 'writev');
    const send =
      append &&
      firstAfter(src, append.t, (e) => e.kind === 'send' && e.detail.endsWith(` ${sys.port}`));
    const recv = send && firstAfter(tgt, send.t - 1, (e) => e.kind === 'recv');
    const open = recv && firstAfter(tgt, recv.t, (e) => e.kind === 'open' && e.detail === rFile);
    const closed = open && firstAfter(tgt, open.t, (e) => e.kind === 'closed');
    const pts = [
      w.t0,
      watch?.t,
      hint?.t,
      check?.t,
      append?.t,
      send?.t,
      recv?.t,
      open?.t,
      closed?.t,
      w.seen,
    ];
    if (pts.some((v) => v === undefined || v === null) || closed.t > w.seen + 1) continue;
    complete++;
    for (let i = 0; i < keys.length; i++) seg[keys[i]].push(pts[i + 1] - pts[i]);
    lstatsPerWrite.push(
      src.filter((e) => e.kind === 'lstat' && e.t >= w.t0 && e.t <= check.t).length,
    );
  }
  // Burst milestones (ms after the first mkdir).
  const rel = (e) => (e ? e.t - burst.t0 : NaN);
  const inBurst = (base) => (e) => e.detail.startsWith(path.join(base, 'burst'));
  const end = burst.tDone + 1;
  const milestones = {
    'bench finished writing': burst.tWritten - burst.t0,
    'source: first file captured (open)': rel(
      firstAfter(src, burst.t0, (e) => e.kind === 'open' && inBurst(sys.src)(e)),
    ),
    'source: last file captured (open)': rel(
      lastBetween(src, burst.t0, end, (e) => e.kind === 'open' && inBurst(sys.src)(e)),
    ),
    'source: last journal append': rel(lastBetween(src, burst.t0, end, (e) => e.kind === 'writev')),
    'target: first apply (open)': rel(
      firstAfter(tgt, burst.t0, (e) => e.kind === 'open' && inBurst(sys.replica)(e)),
    ),
    'target: last apply (open)': rel(
      lastBetween(tgt, burst.t0, end, (e) => e.kind === 'open' && inBurst(sys.replica)(e)),
    ),
    'bench saw all files': burst.tDone - burst.t0,
  };
  const count = (ev, kind, a, b) =>
    ev.filter((e) => e.kind === kind && e.t >= a && e.t <= b).length;
  const burstCounts = {
    'source fs.watch events': count(src, 'watch', burst.t0, end),
    'source lstat calls': count(src, 'lstat', burst.t0, end),
    'source journal writev calls': count(src, 'writev', burst.t0, end),
    'source fsync/fdatasync calls': count(src, 'sync', burst.t0, end),
    'target open calls': count(tgt, 'open', burst.t0, end),
    'target fsync/fdatasync calls': count(tgt, 'sync', burst.t0, end),
  };
  // Time the target spent with at least one fsync in flight during the burst.
  let fsyncBusy = 0;
  {
    let depth = 0;
    let since = 0;
    for (const e of tgt) {
      if (e.t < burst.t0 || e.t > end) continue;
      if (e.kind === 'sync') {
        if (depth++ === 0) since = e.t;
      } else if (e.kind === 'synced' && depth > 0) {
        if (--depth === 0) fsyncBusy += e.t - since;
      }
    }
  }
  milestones['target: wall time with an fsync in flight'] = fsyncBusy;
  // Capture loop (needs the Capture#hint/#check hooks of the preload): pauses between two path
  // checks while work was queued, and the paths hinted most often.
  const checks = src.filter((e) => e.kind === 'check' && e.t >= burst.t0 && e.t <= end);
  let stallMs = 0;
  let stalls = 0;
  for (let i = 1; i < checks.length; i++) {
    const gap = checks[i].t - checks[i - 1].t;
    if (gap > 30) {
      stalls++;
      stallMs += gap;
    }
  }
  const hints = new Map();
  for (const e of src)
    if (e.kind === 'hint' && e.t >= burst.t0 && e.t <= end)
      hints.set(e.detail, (hints.get(e.detail) ?? 0) + 1);
  const captureLoop = checks.length
    ? {
        checks: checks.length,
        stalls,
        stallMs,
        hints: [...hints.values()].reduce((a, b) => a + b, 0),
        topHinted: [...hints.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3),
      }
    : null;
  // Garbage collection: pauses per daemon, and how many slow writes overlapped a pause.
  const gc = {};
  for (const [label, tr] of Object.entries(traces)) {
    const pauses = tr.gcs;
    const inWindow = (a, b) => pauses.filter((g) => g.t + g.dur >= a && g.t <= b);
    const small = writes.length
      ? inWindow(writes[0].t0, writes[writes.length - 1].seen ?? Infinity)
      : [];
    const during = inWindow(burst.t0, burst.tDone);
    const sum = (l) => l.reduce((a, g) => a + g.dur, 0);
    gc[label] = {
      small: {
        n: small.length,
        major: small.filter((g) => g.kind === 'major').length,
        total: sum(small),
        max: Math.max(0, ...small.map((g) => g.dur)),
      },
      burst: {
        n: during.length,
        major: during.filter((g) => g.kind === 'major').length,
        total: sum(during),
        max: Math.max(0, ...during.map((g) => g.dur)),
      },
    };
  }
  const allGc = Object.values(traces).flatMap((tr) => tr.gcs.filter((g) => g.dur >= 5));
  const slow = writes.filter((w) => w.seen !== null && w.seen - w.t0 > 30);
  const slowWithGc = slow.filter((w) =>
    allGc.some((g) => g.t + g.dur >= w.t0 && g.t <= w.seen),
  ).length;
  const writevMs = (a, b) =>
    src
      .filter((e) => e.kind === 'writev' && e.t >= a && e.t <= b)
      .map((e) => Number(e.detail.split(' ')[2]));
  const wvSmall = writes.length
    ? writevMs(writes[0].t0, writes[writes.length - 1].seen ?? Infinity)
    : [];
  const wvBurst = writevMs(burst.t0, burst.tDone);
  return {
    captureLoop,
    writev: {
      small: wvSmall.length ? summarize(wvSmall) : null,
      burst: wvBurst.length ? summarize(wvBurst) : null,
    },
    gc,
    slow: { n: slow.length, withGc: slowWithGc },
    lstatsPerWrite: summarize(lstatsPerWrite),
    complete,
    total: writes.length,
    seg,
    milestones,
    burstCounts,
    loop: Object.fromEntries(Object.entries(traces).map(([k, v]) => [k, v.loop])),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function rssCell(r) {
  const parts = Object.entries(r.hwm);
  const total = parts.reduce((a, [, v]) => a + (v ?? 0), 0);
  return `${mib(total)} (${parts.map(([k, v]) => `${k} ${mib(v)}`).join(' + ')})`;
}

function goalLines(smrR, lsR) {
  if (!smrR) return [];
  const s = smrR.stats;
  const verdict = (ok) => (ok ? 'met' : '**missed**');
  const lines = [
    `- p50 ≤ ${GOALS.p50} ms: ${verdict(s.p50 <= GOALS.p50)} (${ms(s.p50)}${s.p50 > GOALS.p50 ? `, ${(s.p50 / GOALS.p50).toFixed(1)}× the goal` : ''})`,
    `- p99 ≤ ${GOALS.p99} ms: ${verdict(s.p99 <= GOALS.p99)} (${ms(s.p99)}${s.p99 > GOALS.p99 ? `, ${(s.p99 / GOALS.p99).toFixed(1)}× the goal` : ''})`,
  ];
  if (lsR) {
    const ok = smrR.burst.ms <= lsR.burst.ms;
    lines.push(
      `- burst ≤ lsyncd's: ${verdict(ok)} (smr ${ms(smrR.burst.ms)} vs lsyncd ${ms(lsR.burst.ms)}, ` +
        `${(smrR.burst.ms / lsR.burst.ms).toFixed(2)}×)`,
    );
  }
  return lines;
}

function goalsMet(smrR, lsR) {
  if (!smrR) return true;
  const s = smrR.stats;
  return s.p50 <= GOALS.p50 && s.p99 <= GOALS.p99 && (!lsR || smrR.burst.ms <= lsR.burst.ms);
}

function stageTable(stages) {
  const pick = (k) => stages.map((s) => s[k]).filter((v) => v !== null);
  const rows = [
    ['write → captured (journal grew)', pick('capture')],
    ['write → visible on replica', pick('visible')],
    ["write → applied seq fsync'd on target", pick('applied')],
    ["write → ack fsync'd on source", pick('acked')],
  ];
  return [
    '| stage (smr, from the start of the write) | p50 | p90 | p99 | max |',
    '|---|---|---|---|---|',
    ...rows.map(([name, v]) => {
      if (!v.length) return `| ${name} | n/a | n/a | n/a | n/a |`;
      const s = summarize(v);
      return `| ${name} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`;
    }),
  ].join('\n');
}

function report(rounds, o) {
  const last = rounds[rounds.length - 1];
  const smrR = last.find((r) => r.tool === 'smr');
  const lsR = last.find((r) => r.tool === 'lsyncd');
  const row = (r) =>
    `| ${r.label} | ${ms(r.stats.p50)} | ${ms(r.stats.p90)} | ${ms(r.stats.p99)} | ${ms(r.stats.max)} | ${ms(r.burst.ms)} | ${rssCell(r)} |`;
  const out = [];
  out.push(
    o.trace
      ? '## Write→visible latency on loopback: smr stage breakdown (`--trace`)'
      : '## Write→visible latency on loopback',
  );
  out.push('');
  out.push('{{stamp}}');
  out.push('');
  out.push(
    `Tools: ${[o.smrVersion && `smr ${o.smrVersion}`, o.lsyncdVersion, o.rsyncVersion].filter(Boolean).join('; ')}.` +
      ` Command: \`npm run bench -- latency${o.argsText}\`.`,
  );
  out.push('');
  out.push(
    `| tool | p50 | p90 | p99 | max | burst ${o.burst.toLocaleString('en')} files | peak RSS (VmHWM of the daemons) |`,
  );
  out.push('|---|---|---|---|---|---|---|');
  for (const r of last) out.push(row(r));
  out.push('');
  const n = last[0]?.stats.n ?? 0;
  const to = last
    .map((r) =>
      r.timeouts
        ? `${r.tool}: ${r.timeouts} writes not visible within ${VISIBLE_TIMEOUT_MS} ms (counted as ${VISIBLE_TIMEOUT_MS} ms)`
        : null,
    )
    .filter(Boolean);
  out.push(
    `Other programs on this machine used ${last.map((r) => `${r.busy.otherPct.toFixed(0)}% (during ${r.tool})`).join(', ')} ` +
      `of its CPU time (100% = all ${o.cores} cores busy); the bench and the daemons under test used ` +
      `${last.map((r) => `${r.busy.oursPct.toFixed(0)}% (${r.tool})`).join(', ')}.`,
  );
  out.push('');
  out.push(
    "The bench's own `writeFileSync` of each small write (inside the measured time): " +
      last
        .map(
          (r) =>
            `${r.tool} p50 ${ms(r.writeMs.p50)}, p99 ${ms(r.writeMs.p99)}, max ${ms(r.writeMs.max)}`,
        )
        .join('; ') +
      '.',
  );
  out.push('');
  out.push(
    'CPU time used by the daemons (with their child processes): ' +
      last
        .map(
          (r) =>
            `${r.tool}: ${Object.entries(r.cpuMs)
              .map(([k, v]) => `${k} ${(v.small / 1000).toFixed(2)} s`)
              .join(' + ')} for the ${n + o.files} small writes, ${Object.entries(r.cpuMs)
              .map(([k, v]) => `${k} ${(v.burst / 1000).toFixed(2)} s`)
              .join(' + ')} for the burst`,
        )
        .join('; ') +
      '.',
  );
  out.push('');
  out.push(
    `Latency over ${n} writes per tool (after ${o.files} warm-up writes), ${rounds.length > 1 ? `round ${rounds.length} of ${rounds.length}` : 'one round'}.` +
      (to.length ? ` ${to.join('; ')}.` : ''),
  );
  out.push('');
  if (smrR) {
    out.push('Goals for smr:');
    out.push('');
    out.push(...goalLines(smrR, lsR));
    if (rounds.length > 1) {
      const per = (tool, f) =>
        rounds
          .map((rs) => rs.find((r) => r.tool === tool))
          .filter(Boolean)
          .map(f);
      const list = (v) => v.map((x) => ms(x)).join(' / ');
      out.push(
        `- every round (1 → ${rounds.length}), smr: p50 ${list(per('smr', (r) => r.stats.p50))}; ` +
          `p99 ${list(per('smr', (r) => r.stats.p99))}` +
          (lsR
            ? `; burst smr ${list(per('smr', (r) => r.burst.ms))} vs lsyncd ${list(per('lsyncd', (r) => r.burst.ms))}`
            : '') +
          '.',
      );
    }
    out.push('');
  }
  out.push(
    'Memory cross-check (VmRSS sampled every 100 ms; "tree" adds every descendant process, e.g. the rsync ' +
      'processes lsyncd spawns and the rsync daemon forks per transfer): ' +
      last
        .map((r) =>
          Object.keys(r.hwm)
            .map((k) => `${k} ${mib(r.sampled[k])} (tree ${mib(r.treeSampled[k])})`)
            .join(', '),
        )
        .join('; ') +
      '.',
  );
  out.push('');
  if (rounds.length > 1) {
    out.push('All rounds (tool order alternates between rounds):');
    out.push('');
    out.push(`| round | tool | p50 | p90 | p99 | max | burst | peak RSS | other programs' CPU |`);
    out.push('|---|---|---|---|---|---|---|---|---|');
    rounds.forEach((rs, i) => {
      for (const r of rs)
        out.push(
          `| ${i + 1} | ${r.tool} | ${ms(r.stats.p50)} | ${ms(r.stats.p90)} | ${ms(r.stats.p99)} | ${ms(r.stats.max)} | ${ms(r.burst.ms)} | ${rssCell(r)} | ${r.busy.otherPct.toFixed(0)}% |`,
        );
    });
    out.push('');
  }
  if (smrR?.trace) {
    const tr = smrR.trace;
    out.push(
      `smr per-write stages (\`--trace\`, ${tr.complete} of ${tr.total} writes fully matched in the daemons' traces; ` +
        'the tracing preload itself adds a little to every stage):',
    );
    out.push('');
    out.push('| stage | p50 | p90 | p99 | max |');
    out.push('|---|---|---|---|---|');
    for (const [k, v] of Object.entries(tr.seg)) {
      if (!v.length) continue;
      const st = summarize(v);
      out.push(`| ${k} | ${ms(st.p50)} | ${ms(st.p90)} | ${ms(st.p99)} | ${ms(st.max)} |`);
    }
    out.push('');
    out.push(
      `Source lstat calls between a write and its capture (chokidar re-reading the directory plus capture's own): ` +
        `median ${tr.lstatsPerWrite.p50}, max ${tr.lstatsPerWrite.max}.`,
    );
    out.push('');
    out.push(
      'smr burst milestones (ms after the first mkdir): ' +
        Object.entries(tr.milestones)
          .map(([k, v]) => `${k} ${ms(v)}`)
          .join('; ') +
        '.',
    );
    out.push('');
    if (tr.captureLoop) {
      const c = tr.captureLoop;
      out.push(
        `smr capture loop during the burst: ${c.hints} hints, ${c.checks} path checks; ` +
          `${c.stalls} pauses of more than 30 ms between two checks, ${ms(c.stallMs)} in total; ` +
          `most hinted: ${c.topHinted.map(([p, n]) => `${p} ×${n}`).join(', ')}.`,
      );
      out.push('');
    }
    out.push(
      'During the burst: ' +
        Object.entries(tr.burstCounts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') +
        '.',
    );
    out.push('');
    out.push(
      'Garbage collection pauses (PerformanceObserver): ' +
        Object.entries(tr.gc)
          .map(
            ([k, g]) =>
              `${k}: during the small writes ${g.small.n} (${g.small.major} major), ${ms(g.small.total)} in total, longest ${ms(g.small.max)}; ` +
              `during the burst ${g.burst.n} (${g.burst.major} major), ${ms(g.burst.total)}, longest ${ms(g.burst.max)}`,
          )
          .join('; ') +
        `. Writes slower than 30 ms: ${tr.slow.n}, of which ${tr.slow.withGc} overlapped a pause of 5 ms or more in a daemon.`,
    );
    out.push('');
    if (tr.writev.small)
      out.push(
        `Journal appends (synchronous \`writevSync\` on the source's event loop): small writes p50 ${ms(tr.writev.small.p50)}, ` +
          `p99 ${ms(tr.writev.small.p99)}, max ${ms(tr.writev.small.max)}` +
          (tr.writev.burst
            ? `; burst p50 ${ms(tr.writev.burst.p50)}, p99 ${ms(tr.writev.burst.p99)}, max ${ms(tr.writev.burst.max)}`
            : '') +
          '.',
      );
    out.push('');
    out.push(
      'Event-loop delay over the whole run (ms): ' +
        Object.entries(tr.loop)
          .map(([k, v]) => `${k} ${v}`)
          .join('; ') +
        '.',
    );
    out.push('');
  }
  if (smrR?.profile) {
    out.push(
      'smr CPU profile (`--cpu-prof`, self time on the JS thread; "(program)" is native work outside JS, ' +
        '"(garbage collector)" is GC):',
    );
    out.push('');
    out.push(...profileLines(smrR.profile));
    out.push('');
  }
  if (smrR?.stages?.length) {
    out.push(
      'smr stages (`--stages`: the same poll also watches the source journal and both durable counters):',
    );
    out.push('');
    out.push(stageTable(smrR.stages));
    out.push('');
  }
  out.push('### Method');
  out.push('');
  out.push(
    `- Small writes: ${o.files} files of 64–192 bytes are created and replicated first; then each ` +
      `timed write rewrites one of them (\`writeFileSync\`, round robin) with a unique payload, and ` +
      `the bench reads the replica copy every ~1 ms until it holds exactly those bytes. The next ` +
      `write starts ${o.gapMin}–${o.gapMax} ms (uniform jitter) after that. The tools run one after ` +
      `the other, never at the same time.`,
  );
  out.push(
    `- Burst: ${o.burst.toLocaleString('en')} files of 1–4 KiB of random bytes in 10 new ` +
      `directories, written back to back; timed from the first mkdir until a poll (every 5 ms: ` +
      `list each replica directory, read the listed files not yet verified) has seen every file ` +
      `with the right content. Afterwards every file and then the whole tree are compared.`,
  );
  out.push(
    '- Peak RSS is VmHWM from /proc/PID/status of each daemon, read right before it is stopped. ' +
      'For smr both are Node processes; for lsyncd the rsync client processes it spawns and the ' +
      "rsync daemon's per-connection children are short-lived and only show in the sampled tree figure.",
  );
  for (const r of last) out.push(`- ${r.tool} setup: ${r.setup}`);
  out.push('');
  out.push('### Commentary');
  out.push('');
  const met = goalsMet(smrR, lsR);
  if (smrR)
    out.push(
      met
        ? lsR
          ? '- smr met every goal in this run.'
          : '- smr met both latency goals in this run (the burst goal needs lsyncd in the same run).'
        : '- smr missed at least one goal in this run (see the goal list above and the findings below).',
    );
  if (smrR && lsR) {
    out.push(
      `- The comparison favours lsyncd on guarantees: smr's numbers include appending each change ` +
        `to the source's durable journal (group-committed with fdatasync), applying strictly in ` +
        `capture order on the target, and fsyncing the applied data plus the durable applied seq ` +
        `before each acknowledgement. lsyncd + rsync keep no queue (changes seen while lsyncd is ` +
        `down or while a transfer fails are only found again by a full startup rsync), give no ` +
        `ordering between files, and rsync does not fsync what it writes (no \`--fsync\` by default).`,
    );
  }
  return {
    markdown: out.join('\n'),
    exitCode: o.strict && !met ? 1 : 0,
    // A traced run is a diagnosis (the preload slows smr a little), not the comparison itself.
    section: o.trace ? 'latency-trace' : 'latency',
  };
}

// ---------------------------------------------------------------------------------------------

export async function run(opts) {
  const int = (k, min) => {
    const v = Number(opts[k]);
    if (!Number.isInteger(v) || v < min) throw new BenchError(`--${k} must be an integer ≥ ${min}`);
    return v;
  };
  const tools = opts.tools
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of tools)
    if (!['smr', 'lsyncd'].includes(t)) throw new BenchError(`unknown tool "${t}"`);
  if (tools.includes('lsyncd')) requireTools(['rsync', 'lsyncd']);
  if (tools.includes('smr')) requireBuild();
  const o = {
    writes: int('writes', 1),
    files: int('files', 1),
    burst: int('burst', 1),
    gapMin: int('gap-min', 0),
    gapMax: int('gap-max', 0),
    repeat: int('repeat', 1),
    stages: opts.stages,
    trace: opts.trace || opts['cpu-prof'],
    cpuProf: opts['cpu-prof'],
    cores: opts.machine.cores,
    strict: opts.strict,
    keep: opts.keep,
    quietWait: int('quiet-wait', 0),
    smrVersion: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    lsyncdVersion: tools.includes('lsyncd')
      ? `lsyncd ${toolVersion('lsyncd', ['--version'])?.replace(/^Version:\s*/, '')}`
      : null,
    rsyncVersion: tools.includes('lsyncd')
      ? toolVersion('rsync', ['--version'])
          ?.replace(/\s+protocol.*$/, '')
          .replace(/^rsync\s+version\s+/, 'rsync ')
      : null,
  };
  if (o.gapMax < o.gapMin) throw new BenchError('--gap-max must be ≥ --gap-min');
  // The command as given, without the options that do not change what is measured.
  const argv = process.argv.slice(3).filter((a, i, all) => {
    if (a === '--no-write' || a === '--keep' || a.startsWith('--quiet-wait')) return false;
    return all[i - 1] !== '--quiet-wait'; // its value, when given as a separate word
  });
  o.argsText = argv.length ? ` ${argv.join(' ')}` : '';
  if (o.writes < 200) say(`note: ${o.writes} writes is fewer than the 200 the issue asks for`);
  const rounds = [];
  for (let r = 1; r <= o.repeat; r++) {
    const order = r % 2 === 1 ? tools : [...tools].reverse();
    const results = [];
    for (const t of order) results.push(await runTool(t, o, r));
    results.sort((a, b) => tools.indexOf(a.tool) - tools.indexOf(b.tool));
    rounds.push(results);
  }
  return report(rounds, o);
}
