// `npm run bench -- mirror`: whole-tree and big-file mirrors, smr against rsync to a local rsync
// daemon on loopback, same data, same run, warm caches, median of several runs.
//
//   (a)   full mirror of a ~10k-file tree (~400 MiB, mostly small files, a few large) into an
//         empty replica: `smr mirror start --mode full` vs `rsync -a`
//   (b)   1 GiB file with 1% of its 4 KiB blocks rewritten in place: `--mode diff` vs `rsync -a`
//   (c)   1 GiB file with 1 MiB inserted near the start: `--mode diff` vs `rsync -a`
//   (d)   no-change checksum compare of the tree: `--mode checksum` vs `rsync -a -c`
//   (b20) and (c20): (b) and (c) again with both tools limited to 20 MiB/s
//
// Both tools talk through a small counting TCP proxy (a child process running this file), so the
// bytes on the wire are counted the same way for both, in both directions; smr's own counters
// (`sent.bytes`, `sent.wireBytes`) and rsync's `--stats` are reported next to them. Peak RSS is
// VmHWM from /proc: the smr daemons' peaks are reset (clear_refs 5) before each run; the rsync
// client runs under /usr/bin/time (%M) and the rsync daemon's per-connection processes are sampled
// every 20 ms.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Proxy mode: `node scripts/bench/mirror.mjs proxy UPSTREAM_PORT` (spawned by the benchmark).
// Prints {"event":"listening","port":N}; answers "stats ID" on stdin with
// {"id":ID,"up":bytes client→upstream,"down":bytes upstream→client,"conns":accepted}.

function proxyMain(upstreamPort) {
  let up = 0;
  let down = 0;
  let conns = 0;
  const server = net.createServer({ noDelay: true }, (client) => {
    conns++;
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    client.on('data', (d) => (up += d.length));
    upstream.on('data', (d) => (down += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(
      `${JSON.stringify({ event: 'listening', port: server.address().port })}\n`,
    );
  });
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^stats (\d+)$/.exec(line.trim());
    if (m) process.stdout.write(`${JSON.stringify({ id: Number(m[1]), up, down, conns })}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv[2] === 'proxy') {
  proxyMain(Number(process.argv[3]));
}

// ---------------------------------------------------------------------------------------------
// Benchmark mode (imported by scripts/bench.mjs).

const common = await import('./common.mjs');
const {
  BenchError,
  ROOT,
  SMR: SMR_DEFAULT,
  clearRefs,
  cpuWatch,
  delay,
  diffTrees,
  freePort,
  hwmSampler,
  mib,
  peakRss,
  currentRss,
  requireBuild,
  requireTools,
  rmrf,
  runCommand,
  say,
  startProcess,
  toolVersion,
  treeCpuMs,
  waitForPort,
  waitForQuiet,
  which,
  workDir,
} = common;
const { sourceReady, spawnSmrSource, startSmrTarget } = await import('./systems.mjs');

/** The smr launcher under test (`--smr-root` points at another build, e.g. a baseline commit). */
let SMR = SMR_DEFAULT;

/** Runs `smr ...args` with the launcher under test; throws a BenchError on a non-zero exit. */
async function smr(args, opts) {
  const r = await runCommand(process.execPath, [SMR, ...args], opts);
  if (r.code !== 0)
    throw new BenchError(`smr ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return r;
}

export const options = {
  cases: { type: 'string', default: 'a,d,b,c,b20,c20' },
  tools: { type: 'string', default: 'smr,rsync' },
  reps: { type: 'string', default: '3' },
  'big-reps': { type: 'string', default: '3' },
  files: { type: 'string', default: '10000' },
  'tree-mib': { type: 'string', default: '400' },
  'big-mib': { type: 'string', default: '1024' },
  rate: { type: 'string', default: '20' },
  seed: { type: 'string', default: '1' },
  budget: { type: 'string', default: '20' },
  'no-proxy': { type: 'boolean', default: false },
  replicate: { type: 'boolean', default: false },
  profile: { type: 'boolean', default: false },
  strict: { type: 'boolean', default: false },
  'quiet-wait': { type: 'string', default: '10' },
  'work-dir': { type: 'string' },
  'smr-root': { type: 'string' },
};

export const help = `usage: node scripts/bench.mjs mirror [options]   (or: npm run bench -- mirror)

  --cases LIST     any of a,b,c,d,b20,c20 (default a,d,b,c,b20,c20; d needs a)
  --tools LIST     smr,rsync (default both)
  --reps N         runs of the tree cases a and d (default 3; the median is reported)
  --big-reps N     runs of the 1 GiB cases b, c, b20, c20 (default 3; fewer are made when the
                   whole run would exceed --budget, and the report says so)
  --files N        files in the tree (default 10000)
  --tree-mib N     size of the tree (default 400)
  --big-mib N      size of the big file (default 1024)
  --rate N         MiB/s of the limited cases (default 20)
  --seed N         data seed (default 1)
  --budget MIN     time budget in minutes for the whole run (default 20)
  --no-proxy       connect the tools directly (no counting proxy: wire bytes from their own stats)
  --replicate      connect smr with replication on (default: --no-replicate, the mirror alone)
  --profile        run the smr daemons under node --cpu-prof and summarize where their CPU went
                   (section "mirror-profile"; the timings are a diagnosis, not the comparison)
  --quiet-wait S   before each timed run, wait up to S seconds (default 10, 0 = no wait) until other
                   programs use under 25% of the CPU (the machine may be shared)
  --work-dir DIR   put the scratch directory (data, replicas, state) under DIR instead of
                   bench/work (same file system advised, so the disk is the same)
  --smr-root DIR   measure the smr build in DIR (DIR/bin/smr.js, built dist/) instead of this
                   checkout, e.g. a baseline commit unpacked with git archive (a BUILD-NOTE
                   file there, first line, names it in the report)
  --strict         exit 1 when an smr goal is missed
  --no-write       do not update bench/RESULTS.md
  --keep           keep bench/work/mirror-*
`;

const MiB = 1024 * 1024;
const KiB = 1024;
const CASES = ['a', 'd', 'b', 'c', 'b20', 'c20'];
const CASE_TITLES = {
  a: '(a) full mirror, tree',
  b: '(b) 1% of 4 KiB blocks rewritten',
  c: '(c) 1 MiB inserted near the start',
  d: '(d) no-change checksum compare, tree',
  b20: '(b) limited',
  c20: '(c) limited',
};
const RUN_TIMEOUT_MS = 30 * 60_000;
const T0_SEC = 1_700_000_000; // mtime of the generated data (deterministic)
const T1_SEC = T0_SEC + 86_400; // mtime of the modified big files: a day later

// ---------------------------------------------------------------------------------------------
// Small helpers

function prng(seed) {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of the label). */
function keystream(seed, label) {
  const key = crypto.createHash('sha256').update(`smr-bench-mirror:${seed}:${label}`).digest();
  const c = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (n) => c.update(Buffer.alloc(n));
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function secs(msv) {
  if (!Number.isFinite(msv)) return 'n/a';
  return msv < 10_000 ? `${(msv / 1000).toFixed(2)} s` : `${(msv / 1000).toFixed(1)} s`;
}

function bytes(n) {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 10 * KiB) return `${Math.round(n)} B`;
  if (n < 10 * MiB) return `${(n / KiB).toFixed(1)} KiB`;
  if (n < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / 1024 / MiB).toFixed(2)} GiB`;
}

function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return a / b;
}

function fmtRatio(r) {
  if (!Number.isFinite(r)) return 'n/a';
  return r < 0.1 ? `${r.toFixed(3)}×` : `${r.toFixed(2)}×`;
}

function syncDisks() {
  spawnSync('sync');
}

/** Reads a file (or every file below a directory) once, so it is in the page cache. */
function warm(p) {
  const buf = Buffer.allocUnsafe(8 * MiB);
  const readAll = (f) => {
    const fd = fs.openSync(f, 'r');
    try {
      while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      fs.closeSync(fd);
    }
  };
  const walk = (q) => {
    const st = fs.lstatSync(q);
    if (st.isDirectory()) for (const n of fs.readdirSync(q)) walk(path.join(q, n));
    else if (st.isFile()) readAll(q);
  };
  walk(p);
}

/** Byte-for-byte comparison of two files (plus mtime to the second); returns a problem or null. */
function compareFiles(a, b) {
  let sa;
  let sb;
  try {
    sa = fs.statSync(a);
    sb = fs.statSync(b);
  } catch (err) {
    return `${b}: ${err.code ?? err.message}`;
  }
  if (sa.size !== sb.size) return `${b}: size ${sb.size}, source ${sa.size}`;
  if (Math.abs(sa.mtimeMs - sb.mtimeMs) >= 1000)
    return `${b}: mtime ${new Date(sb.mtimeMs).toISOString()}, source ${new Date(sa.mtimeMs).toISOString()}`;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const ba = Buffer.allocUnsafe(8 * MiB);
  const bb = Buffer.allocUnsafe(8 * MiB);
  try {
    for (let off = 0; off < sa.size;) {
      const n = fs.readSync(fa, ba, 0, ba.length, off);
      const m = fs.readSync(fb, bb, 0, n, off);
      if (m !== n || !ba.subarray(0, n).equals(bb.subarray(0, n)))
        return `${b}: content differs in the ${bytes(8 * MiB)} piece at offset ${off}`;
      off += n;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The counting proxy (child process)

// startProcess() gives the child no stdin; the proxy needs one, so it gets its own spawn here.
function startProcessWithStdin(cmd, args, logFile) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const lines = [];
  const listeners = new Set();
  const onLine = (stream) => (line) => {
    const e = { t: Date.now(), stream, line };
    lines.push(e);
    log.write(`${new Date(e.t).toISOString()} ${stream} ${line}\n`);
    for (const l of listeners) l(e);
  };
  readline.createInterface({ input: proc.stdout }).on('line', onLine('out'));
  readline.createInterface({ input: proc.stderr }).on('line', onLine('err'));
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    log.end();
  });
  return {
    proc,
    pid: proc.pid,
    waitForLine(re, { timeoutMs = 20_000, what = String(re) } = {}) {
      const seen = lines.find((e) => e.stream === 'out' && re.test(e.line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = () => {
          listeners.delete(l);
          clearTimeout(timer);
        };
        const l = (e) => {
          if (e.stream === 'out' && re.test(e.line)) {
            done();
            resolve(e);
          }
        };
        listeners.add(l);
        const timer = setTimeout(() => {
          done();
          reject(new BenchError(`proxy: no ${what} after ${timeoutMs} ms`));
        }, timeoutMs);
        void exited.then(() => {
          done();
          reject(new BenchError(`proxy exited before ${what}`));
        });
      });
    },
    async stop() {
      if (gone) return exited;
      proc.stdin.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

async function proxyFor(upstreamPort, dir, label) {
  const h = startProcessWithStdin(
    process.execPath,
    [SELF, 'proxy', String(upstreamPort)],
    path.join(dir, `proxy-${label}.log`),
  );
  const first = await h.waitForLine(/"event":"listening"/, { what: 'proxy port' });
  const { port } = JSON.parse(first.line);
  let nextId = 1;
  return {
    port,
    pid: h.pid,
    async stats() {
      const id = nextId++;
      const wait = h.waitForLine(new RegExp(`^\\{"id":${id},`), { what: 'proxy stats' });
      h.proc.stdin.write(`stats ${id}\n`);
      return JSON.parse((await wait).line);
    },
    stop: () => h.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// Data

/** Generates the tree and the big files under `dataDir`; returns their description. */
function generate(dataDir, o) {
  const rnd = prng(o.seed * 7919 + 17);
  const tree = path.join(dataDir, 'tree');
  const totalBytes = o.treeMiB * MiB;
  const nLarge = Math.max(1, Math.min(10, Math.floor(o.files / 1000)));
  const nSmall = o.files - nLarge;
  // Half the bytes in a few large files (12–28 MiB before scaling), half in small files with
  // log-uniform sizes between 512 B and 128 KiB (scaled so the total is --tree-mib).
  const largeRaw = Array.from({ length: nLarge }, () => 12 + rnd() * 16);
  const smallRaw = Array.from({ length: nSmall }, () =>
    Math.exp(Math.log(512) + rnd() * (Math.log(128 * KiB) - Math.log(512))),
  );
  const sum = (v) => v.reduce((a, b) => a + b, 0);
  const largeBudget = totalBytes / 2;
  const smallBudget = totalBytes - largeBudget;
  const largeSizes = largeRaw.map((x) => Math.round((x / sum(largeRaw)) * largeBudget));
  const smallSizes = smallRaw.map((x) =>
    Math.max(1, Math.round((x / sum(smallRaw)) * smallBudget)),
  );
  const gen = keystream(o.seed, 'tree');
  const leaves = [];
  for (let i = 0; i < 10; i++)
    for (let j = 0; j < 10; j++)
      leaves.push(`d${String(i).padStart(2, '0')}/s${String(j).padStart(2, '0')}`);
  for (const l of leaves) fs.mkdirSync(path.join(tree, l), { recursive: true });
  let n = 0;
  const write = (rel, size) => {
    const f = path.join(tree, rel);
    const fd = fs.openSync(f, 'w');
    for (let done = 0; done < size;) {
      const k = Math.min(8 * MiB, size - done);
      fs.writeSync(fd, gen(k));
      done += k;
    }
    fs.closeSync(fd);
    fs.utimesSync(f, T0_SEC + n, T0_SEC + n);
    n++;
  };
  smallSizes.forEach((s, i) =>
    write(`${leaves[i % leaves.length]}/f${String(i).padStart(5, '0')}.dat`, s),
  );
  largeSizes.forEach((s, i) => write(`${leaves[(i * 37) % leaves.length]}/large-${i}.bin`, s));
  const treeInfo = {
    dir: tree,
    files: o.files,
    dirs: leaves.length + 10,
    bytes: sum(smallSizes) + sum(largeSizes),
    small: { n: nSmall, bytes: sum(smallSizes), median: median(smallSizes) },
    large: {
      n: nLarge,
      bytes: sum(largeSizes),
      min: Math.min(...largeSizes),
      max: Math.max(...largeSizes),
    },
  };

  // Big files: old (the target's copy), b (1% of 4 KiB blocks rewritten), c (1 MiB inserted).
  const bigSize = o.bigMiB * MiB;
  const old = path.join(dataDir, 'old.bin');
  {
    const g = keystream(o.seed, 'big-old');
    const fd = fs.openSync(old, 'w');
    for (let done = 0; done < bigSize; done += 8 * MiB)
      fs.writeSync(fd, g(Math.min(8 * MiB, bigSize - done)));
    fs.closeSync(fd);
    fs.utimesSync(old, T0_SEC, T0_SEC);
  }
  const bDir = path.join(dataDir, 'b');
  const cDir = path.join(dataDir, 'c');
  fs.mkdirSync(bDir, { recursive: true });
  fs.mkdirSync(cDir, { recursive: true });
  const bFile = path.join(bDir, 'big.bin');
  const cFile = path.join(cDir, 'big.bin');
  const blocks = Math.ceil(bigSize / (4 * KiB));
  const nChanged = Math.round(blocks * 0.01);
  {
    fs.copyFileSync(old, bFile);
    const picked = new Set();
    const r2 = prng(o.seed * 104729 + 3);
    while (picked.size < nChanged) picked.add(Math.floor(r2() * blocks));
    const g = keystream(o.seed, 'big-b');
    const fd = fs.openSync(bFile, 'r+');
    for (const i of [...picked].sort((x, y) => x - y))
      fs.writeSync(fd, g(4 * KiB), 0, 4 * KiB, i * 4 * KiB);
    fs.closeSync(fd);
    fs.utimesSync(bFile, T1_SEC, T1_SEC);
  }
  const insertAt = 1_000_000; // ~1 MiB, deliberately not block-aligned
  const insertLen = 1 * MiB;
  {
    const g = keystream(o.seed, 'big-c');
    const out = fs.openSync(cFile, 'w');
    const inp = fs.openSync(old, 'r');
    const buf = Buffer.allocUnsafe(8 * MiB);
    const head = fs.readSync(inp, buf, 0, insertAt, 0);
    fs.writeSync(out, buf, 0, head);
    fs.writeSync(out, g(insertLen));
    for (let off = insertAt; ;) {
      const k = fs.readSync(inp, buf, 0, buf.length, off);
      if (!k) break;
      fs.writeSync(out, buf, 0, k);
      off += k;
    }
    fs.closeSync(inp);
    fs.closeSync(out);
    fs.utimesSync(cFile, T1_SEC, T1_SEC);
  }
  return {
    tree: treeInfo,
    big: { old, size: bigSize, bFile, cFile, bDir, cDir, blocks, nChanged, insertAt, insertLen },
  };
}

// ---------------------------------------------------------------------------------------------
// The two systems

async function startSmrSide(dir, o) {
  const key = path.join(dir, 'key');
  const root = path.join(dir, 'smr-root');
  const sstate = path.join(dir, 'smr-source-state');
  const tstate = path.join(dir, 'smr-target-state');
  const profDir = path.join(dir, 'cpuprof');
  const nodeArgs = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  await smr(['key', 'generate', '--out', key]);
  const { target, port } = await startSmrTarget({
    root,
    key,
    state: tstate,
    logFile: path.join(dir, 'smr-target.log'),
    nodeArgs,
    bin: SMR,
  });
  const source = spawnSmrSource({
    state: sstate,
    logFile: path.join(dir, 'smr-source.log'),
    nodeArgs,
    bin: SMR,
  });
  await sourceReady(source);
  const proxy = o.proxy ? await proxyFor(port, dir, 'smr') : null;
  const to = `127.0.0.1:${proxy ? proxy.port : port}`;
  const st = (args) => [...args, '--state-dir', sstate];
  const sys = {
    tool: 'smr',
    root,
    key,
    sstate,
    to,
    proxy,
    profDir,
    source,
    target,
    connections: new Set(),
    async connect(name, srcDir) {
      await smr(
        st([
          'connect',
          name,
          '--to',
          to,
          '--path',
          srcDir,
          '--key-file',
          key,
          '--mirror',
          'none',
          ...(o.replicate ? [] : ['--no-replicate']),
          '--json',
        ]),
      );
      this.connections.add(name);
      const end = Date.now() + 30_000;
      for (;;) {
        const s = await this.status(name);
        if (s.link === 'connected') break;
        if (Date.now() > end)
          throw new BenchError(`smr: connection ${name} not connected: ${JSON.stringify(s)}`);
        await delay(50);
      }
      return path.join(root, name);
    },
    async disconnect(name) {
      await smr(st(['disconnect', name, '--json']));
      this.connections.delete(name);
    },
    async status(name) {
      return (await smr(st(['status', name, '--json']))).json;
    },
    async limit(name, rate) {
      await smr(
        st(['limit', name, '--bandwidth', rate === null ? 'off' : `${rate}MiB/s`, '--json']),
      );
    },
    /** One timed mirror; returns its measurements. */
    async mirror(name, mode) {
      const before = await this.status(name);
      const p0 = proxy ? await proxy.stats() : null;
      const resetOk = clearRefs(source.pid) && clearRefs(target.pid);
      const pids = [source.pid, target.pid];
      const c0 = treeCpuMs(pids);
      const busy = cpuWatch(proxy ? [...pids, proxy.pid] : pids);
      const mono0 = process.hrtime.bigint() / 1000n;
      const t0 = performance.now();
      const r = await runCommand(
        process.execPath,
        [SMR, 'mirror', 'start', name, '--mode', mode, '--wait', '--json', '--state-dir', sstate],
        { timeoutMs: RUN_TIMEOUT_MS },
      );
      const wallMs = performance.now() - t0;
      const mono1 = process.hrtime.bigint() / 1000n;
      const load = busy.end();
      const cpuMs = treeCpuMs(pids) - c0;
      const hwm = { source: peakRss(source.pid), target: peakRss(target.pid) };
      if (r.code !== 0)
        throw new BenchError(
          `smr mirror start ${name} --mode ${mode} exited ${r.code}: ${r.stdout}${r.stderr}`,
        );
      const after = await this.status(name);
      if (after.mirror?.state !== 'complete')
        throw new BenchError(`smr: mirror of ${name} ended ${JSON.stringify(after.mirror)}`);
      // Let the last acks and any NEED resends settle before reading the counters.
      await delay(200);
      const settled = await this.status(name);
      const p1 = proxy ? await proxy.stats() : null;
      return {
        wallMs,
        up: p1 ? p1.up - p0.up : NaN,
        down: p1 ? p1.down - p0.down : NaN,
        dataBytes: settled.sent.bytes - before.sent.bytes,
        recordBytes: settled.sent.wireBytes - before.sent.wireBytes,
        lateBytes: settled.sent.wireBytes - after.sent.wireBytes,
        rssKiB: hwm.source + hwm.target,
        rssParts: hwm,
        rssReset: resetOk,
        cpuMs,
        otherPct: load.otherPct,
        mono: [Number(mono0), Number(mono1)],
        mirror: after.mirror,
      };
    },
    async stop() {
      await source.stop(60_000);
      await target.stop(60_000);
      await proxy?.stop();
    },
  };
  return sys;
}

async function startRsyncSide(dir, o) {
  const root = path.join(dir, 'rsync-root');
  fs.mkdirSync(root, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'rsyncd.conf');
  fs.writeFileSync(
    conf,
    [
      `pid file = ${path.join(dir, 'rsyncd.pid')}`,
      `lock file = ${path.join(dir, 'rsyncd.lock')}`,
      `log file = ${path.join(dir, 'rsyncd.log')}`,
      'use chroot = no',
      `uid = ${process.getuid()}`,
      `gid = ${process.getgid()}`,
      '',
      '[bench]',
      `  path = ${root}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  const daemon = startProcess(
    'rsync',
    ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1'],
    { logFile: path.join(dir, 'rsyncd.out') },
  );
  await waitForPort('127.0.0.1', port);
  const proxy = o.proxy ? await proxyFor(port, dir, 'rsync') : null;
  const url = `rsync://127.0.0.1:${proxy ? proxy.port : port}/bench`;
  const time = which('time') ?? (fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null);
  return {
    tool: 'rsync',
    root,
    url,
    proxy,
    daemon,
    /** One timed rsync of `srcDir/` to module dir `dest/`; returns its measurements. */
    async sync(srcDir, dest, extra = []) {
      const args = ['-a', '--stats', ...extra, `${srcDir}/`, `${url}/${dest}/`];
      const p0 = proxy ? await proxy.stats() : null;
      clearRefs(daemon.pid);
      const sampler = hwmSampler(daemon.pid);
      const cmd = time ? time : 'rsync';
      const argv = time ? ['-f', 'bench-maxrss-kib=%M bench-cpu-s=%U+%S', 'rsync', ...args] : args;
      const c0 = treeCpuMs([daemon.pid]);
      const busy = cpuWatch(proxy ? [daemon.pid, proxy.pid] : [daemon.pid]);
      const t0 = performance.now();
      const r = await runCommand(cmd, argv, { timeoutMs: RUN_TIMEOUT_MS });
      const wallMs = performance.now() - t0;
      const load = busy.end();
      const server = sampler.stop();
      const daemonHwm = peakRss(daemon.pid) ?? 0;
      if (r.code !== 0)
        throw new BenchError(`rsync ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
      const num = (re) => {
        const m = re.exec(r.stdout);
        return m ? Number(m[1].replace(/[,.]/g, '')) : NaN;
      };
      const clientKiB = Number(/bench-maxrss-kib=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
      const cpuM = /bench-cpu-s=([\d.]+)\+([\d.]+)/.exec(r.stderr);
      const clientCpuMs = cpuM ? (Number(cpuM[1]) + Number(cpuM[2])) * 1000 : NaN;
      // Let the daemon's per-connection processes exit (and be reaped, so their CPU time shows in
      // the daemon's) before the counters are read.
      await delay(150);
      const serverCpuMs = treeCpuMs([daemon.pid]) - c0;
      const p1 = proxy ? await proxy.stats() : null;
      return {
        wallMs,
        up: p1 ? p1.up - p0.up : NaN,
        down: p1 ? p1.down - p0.down : NaN,
        statsSent: num(/Total bytes sent:\s*([\d,.]+)/),
        statsReceived: num(/Total bytes received:\s*([\d,.]+)/),
        literal: num(/Literal data:\s*([\d,.]+)/),
        matched: num(/Matched data:\s*([\d,.]+)/),
        rssKiB: clientKiB + server.sumKiB + daemonHwm,
        rssParts: {
          client: clientKiB,
          server: server.sumKiB,
          daemon: daemonHwm,
          serverProcs: server.procs,
        },
        cpuMs: clientCpuMs + serverCpuMs,
        cpuParts: { client: clientCpuMs, server: serverCpuMs },
        otherPct: load.otherPct,
        cmd: `rsync ${args
          .join(' ')
          .replaceAll(dir, '$WORK')
          .replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')}`,
      };
    },
    async stop() {
      await daemon.stop();
      await proxy?.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cases

function resetBigTarget(file, old) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const n of fs.existsSync(path.dirname(file)) ? fs.readdirSync(path.dirname(file)) : [])
    rmrf(path.join(path.dirname(file), n));
  fs.copyFileSync(old, file);
  fs.utimesSync(file, T0_SEC, T0_SEC);
}

/** Before a timed run: no writeback pending, and (within --quiet-wait) a quiet machine. */
async function settle(o) {
  syncDisks();
  if (o.quietWait > 0)
    await waitForQuiet({ maxOtherPct: 25, windowMs: 2000, maxWaitMs: o.quietWait * 1000 });
}

async function runCases(dir, o, data, sys, clock, meta) {
  const results = Object.fromEntries(o.cases.map((c) => [c, { smr: [], rsync: [], notes: [] }]));
  const tools = o.tools;
  const order = (rep) => (rep % 2 === 1 ? tools : [...tools].reverse());
  const record = (c, tool, r) => {
    results[c][tool].push(r);
    if (tool === 'smr') meta.windows.push({ label: c, from: r.mono[0], to: r.mono[1] });
    say(
      `${c} ${tool}: ${secs(r.wallMs)} (CPU ${secs(r.cpuMs)}, other programs ${r.otherPct.toFixed(0)}%), ` +
        `wire ${bytes(r.up)} up + ${bytes(r.down)} down, peak RSS ${mib(r.rssKiB)}`,
    );
  };

  // (a): a fresh replica per run (smr: a new connection tree-N; rsync: module dir tree-N); the last
  // replicas stay for (d).
  let lastTree = null;
  if (o.cases.includes('a') || o.cases.includes('d')) {
    warm(data.tree.dir);
    const reps = o.cases.includes('a') ? o.reps : 1;
    for (let rep = 1; rep <= reps; rep++) {
      const name = `tree-${rep}`;
      for (const tool of order(rep)) {
        await settle(o);
        if (tool === 'smr') {
          const replica = await sys.smr.connect(name, data.tree.dir);
          say(`a smr: run ${rep}/${reps}`);
          const r = await sys.smr.mirror(name, 'full');
          const diffs = diffTrees(data.tree.dir, replica);
          if (diffs.length)
            throw new BenchError(`smr (a): replica differs:\n  ${diffs.join('\n  ')}`);
          if (o.cases.includes('a')) record('a', 'smr', r);
          if (lastTree?.smr) {
            await sys.smr.disconnect(lastTree.smr.name);
            rmrf(lastTree.smr.replica);
          }
          lastTree = { ...lastTree, smr: { name, replica } };
        } else {
          say(`a rsync: run ${rep}/${reps}`);
          const r = await sys.rsync.sync(data.tree.dir, name);
          const replica = path.join(sys.rsync.root, name);
          const diffs = diffTrees(data.tree.dir, replica);
          if (diffs.length)
            throw new BenchError(`rsync (a): replica differs:\n  ${diffs.join('\n  ')}`);
          if (o.cases.includes('a')) record('a', 'rsync', r);
          if (lastTree?.rsync) rmrf(lastTree.rsync.replica);
          lastTree = { ...lastTree, rsync: { name, replica } };
        }
        clock.tick('a');
      }
    }
  }

  if (o.cases.includes('d')) {
    warm(data.tree.dir);
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const tool of order(rep)) {
        await settle(o);
        say(`d ${tool}: run ${rep}/${o.reps}`);
        const r =
          tool === 'smr'
            ? await sys.smr.mirror(lastTree.smr.name, 'checksum')
            : await sys.rsync.sync(data.tree.dir, lastTree.rsync.name, ['-c']);
        record('d', tool, r);
        clock.tick('d');
      }
    }
    const a = diffTrees(data.tree.dir, lastTree.smr?.replica ?? data.tree.dir);
    if (a.length) throw new BenchError(`smr (d): replica differs:\n  ${a.join('\n  ')}`);
  }

  // Big-file cases: one connection per case file (b, c), replicas reset to the old file before
  // every run.
  const big = data.big;
  const bigCases = o.cases.filter((c) => ['b', 'c', 'b20', 'c20'].includes(c));
  if (bigCases.length) {
    const conn = {};
    if (tools.includes('smr')) {
      for (const which of ['b', 'c'])
        if (bigCases.some((c) => c[0] === which))
          conn[which] = await sys.smr.connect(which, which === 'b' ? big.bDir : big.cDir);
    }
    for (const c of bigCases) {
      const which = c[0];
      const limited = c.length > 1;
      const srcDir = which === 'b' ? big.bDir : big.cDir;
      const srcFile = which === 'b' ? big.bFile : big.cFile;
      warm(srcFile);
      if (limited && tools.includes('smr')) await sys.smr.limit(which, o.rate);
      let reps = o.bigReps;
      for (let rep = 1; rep <= reps; rep++) {
        if (rep > 1) {
          const allowed = clock.repsFitting(c, reps, rep, bigCases);
          if (allowed < reps) {
            results[c].notes.push(
              `${allowed} run${allowed === 1 ? '' : 's'} instead of ${reps} (time budget of ${o.budget} min)`,
            );
            say(`${c}: cutting to ${allowed} runs to stay within the ${o.budget}-minute budget`);
            reps = allowed;
            if (rep > reps) break;
          }
        }
        for (const tool of order(rep)) {
          const replicaFile =
            tool === 'smr'
              ? path.join(conn[which], 'big.bin')
              : path.join(sys.rsync.root, which, 'big.bin');
          resetBigTarget(replicaFile, big.old);
          await settle(o);
          say(`${c} ${tool}: run ${rep}/${reps}`);
          const r =
            tool === 'smr'
              ? await sys.smr.mirror(which, 'diff')
              : await sys.rsync.sync(
                  srcDir,
                  which,
                  limited ? [`--bwlimit=${Math.round(o.rate * 1024)}`] : [],
                );
          const bad = compareFiles(srcFile, replicaFile);
          if (bad) throw new BenchError(`${tool} (${c}): replica wrong after the mirror: ${bad}`);
          record(c, tool, r);
          clock.tick(c);
        }
      }
      if (limited && tools.includes('smr')) await sys.smr.limit(which, null);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Profile summary (--profile)

function summarizeProfile(file, windows) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Paths relative to the smr build measured (this checkout or --smr-root): "dist/...".
  const rel = (url) =>
    url
      .replace(/^file:\/\//, '')
      .replace(`${ROOT}/`, '')
      .replace(/^.*\/(dist\/)/, '$1')
      .replace(/^.*\/(node_modules\/)/, '$1');
  const key = (n) => {
    const cf = n.callFrame;
    const url = cf.url ? rel(cf.url) : '';
    return `${cf.functionName || '(anonymous)'}${url ? ` ${url}:${cf.lineNumber + 1}` : ''}`;
  };
  // The nearest smr function on the sample's stack: what it did itself or called synchronously.
  const ownerCache = new Map();
  const ownerOf = (id) => {
    if (ownerCache.has(id)) return ownerCache.get(id);
    let found = null;
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const n = byId.get(x);
      if (rel(n.callFrame.url).startsWith('dist/')) {
        found = key(n);
        break;
      }
    }
    const n = byId.get(id);
    const own = found ?? `${n.callFrame.functionName || '(anonymous)'} (no smr frame on the stack)`;
    ownerCache.set(id, own);
    return own;
  };
  const labels = new Map(); // label -> { total, gc, self: Map, owner: Map }
  const bucket = (label) => {
    if (!labels.has(label))
      labels.set(label, { total: 0, gc: 0, self: new Map(), owner: new Map() });
    return labels.get(label);
  };
  let t = prof.startTime;
  let idle = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    const id = prof.samples[i];
    const n = byId.get(id);
    const fnName = n.callFrame.functionName;
    if (fnName === '(idle)') {
      idle += dt;
      continue;
    }
    const w = windows.find((x) => t >= x.from && t <= x.to);
    for (const label of ['all', w ? w.label : 'outside the timed runs']) {
      const b = bucket(label);
      b.total += dt;
      if (fnName === '(garbage collector)') b.gc += dt;
      const k = key(n);
      b.self.set(k, (b.self.get(k) ?? 0) + dt);
      const o = ownerOf(id);
      b.owner.set(o, (b.owner.get(o) ?? 0) + dt);
    }
  }
  const top = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  const out = { idle, labels: {} };
  for (const [label, b] of labels)
    out.labels[label] = { total: b.total, gc: b.gc, self: top(b.self, 8), owner: top(b.owner, 8) };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const GOALS = {
  wireB: 0.25, // (b) wire bytes ≤ 0.25× rsync's
  time: 1.0, // (a), (b), (d) time ≤ 1.0× rsync's
  limitedB: 0.3, // limited (b) time ≤ 0.3× rsync's
  rssMiB: 150,
};

function caseStats(list) {
  return {
    n: list.length,
    wallMs: median(list.map((r) => r.wallMs)),
    wire: median(list.map((r) => r.up + r.down)),
    up: median(list.map((r) => r.up)),
    down: median(list.map((r) => r.down)),
    rssKiB: Math.max(...list.map((r) => r.rssKiB)),
    cpuMs: median(list.map((r) => r.cpuMs)),
    otherPct: median(list.map((r) => r.otherPct)),
    runs: list,
  };
}

function report(o, data, results, meta) {
  const out = [];
  const S = {};
  for (const c of o.cases) {
    S[c] = {};
    for (const t of o.tools) if (results[c][t].length) S[c][t] = caseStats(results[c][t]);
  }
  const both = o.tools.includes('smr') && o.tools.includes('rsync');
  out.push(
    o.profile
      ? '## Mirror: smr vs rsync — profiled run (`--profile`)'
      : '## Mirror: smr vs rsync (daemon) on loopback',
  );
  out.push('');
  out.push('{{stamp}}');
  out.push('');
  out.push(
    `Tools: smr ${meta.smrVersion}${meta.git ? ` at commit ${meta.git.head}${meta.git.dirty ? ` with uncommitted changes in ${meta.git.dirty} file${meta.git.dirty === 1 ? '' : 's'} under src/` : ''}` : ''} ` +
      `${meta.smrRoot ? `built in \`${meta.smrRoot}\`${meta.smrRootNote ? ` (${meta.smrRootNote})` : ''} ` : ''}` +
      `(Node ${process.version}); ${meta.rsyncVersion}. ` +
      `Command: \`npm run bench -- mirror${meta.argsText}\`. Whole run: ${(meta.totalMs / 60_000).toFixed(1)} min.`,
  );
  out.push('');
  const t = data.tree;
  out.push(
    `Data (seed ${o.seed}, generated afresh by the run, pseudo-random so incompressible): tree of ` +
      `${t.files.toLocaleString('en')} files in ${t.dirs} directories, ${bytes(t.bytes)} — ` +
      `${t.small.n.toLocaleString('en')} small files (512 B–128 KiB log-uniform before scaling, median ${bytes(t.small.median)}, ` +
      `${bytes(t.small.bytes)} in all) and ${t.large.n} large ones (${bytes(t.large.min)}–${bytes(t.large.max)}, ${bytes(t.large.bytes)}); ` +
      `big file ${bytes(data.big.size)}: (b) ${data.big.nChanged.toLocaleString('en')} of its ${data.big.blocks.toLocaleString('en')} 4 KiB blocks ` +
      `rewritten in place with new data, (c) ${bytes(data.big.insertLen)} inserted at offset ${data.big.insertAt.toLocaleString('en')}; ` +
      'the modified source files carry an mtime one day newer than the replica copies.',
  );
  out.push('');
  const wireNote = o.proxy
    ? 'bytes through the counting proxy, source→target + target→source'
    : "the tools' own counters (no proxy)";
  out.push(
    `| case | runs | smr time | rsync time | time ratio | smr wire | rsync wire | wire ratio | smr peak RSS | rsync peak RSS |`,
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of o.cases) {
    const s = S[c].smr;
    const r = S[c].rsync;
    const wireS = s ? (o.proxy ? s.wire : median(s.runs.map((x) => x.recordBytes))) : NaN;
    const wireR = r
      ? o.proxy
        ? r.wire
        : median(r.runs.map((x) => x.statsSent + x.statsReceived))
      : NaN;
    const fmtWire = (st, w) =>
      st
        ? `${bytes(w)} (${bytes(o.proxy ? st.up : w)} ↑ ${o.proxy ? `${bytes(st.down)} ↓` : ''})`
        : 'n/a';
    out.push(
      `| ${CASE_TITLES[c]}${c.length > 1 ? ` ${o.rate} MiB/s` : ''} | ${Math.max(s?.n ?? 0, r?.n ?? 0)} | ${secs(s?.wallMs)} | ${secs(r?.wallMs)} | ` +
        `${fmtRatio(ratio(s?.wallMs, r?.wallMs))} | ${fmtWire(s, wireS)} | ${fmtWire(r, wireR)} | ${fmtRatio(ratio(wireS, wireR))} | ` +
        `${s ? mib(s.rssKiB) : 'n/a'} | ${r ? mib(r.rssKiB) : 'n/a'} |`,
    );
  }
  out.push('');
  out.push(
    `Times are medians of the runs (wall time of \`smr mirror start NAME --mode M --wait\` — it returns once the target ` +
      `has acknowledged, i.e. fsynced, everything — and of the rsync client). Wire: ${wireNote}, median per run; ↑ = source→target. ` +
      `Peak RSS: the highest of the runs; smr = source daemon + target daemon, rsync = client + daemon side ` +
      `(per-connection receiver and generator, plus the listening daemon).`,
  );
  out.push('');
  out.push(
    'CPU time (user + system, all processes of the tool) is less disturbed than wall time when the ' +
      "machine is shared; the last column is the share of the machine's CPU that other programs used " +
      'during the runs (median; 100% = every core busy).',
  );
  out.push('');
  out.push('| case | smr CPU | rsync CPU | CPU ratio | other programs during smr / rsync runs |');
  out.push('|---|---|---|---|---|');
  for (const c of o.cases) {
    const s = S[c].smr;
    const r = S[c].rsync;
    out.push(
      `| ${CASE_TITLES[c]}${c.length > 1 ? ` ${o.rate} MiB/s` : ''} | ${secs(s?.cpuMs)} | ${secs(r?.cpuMs)} | ` +
        `${fmtRatio(ratio(s?.cpuMs, r?.cpuMs))} | ${s ? `${s.otherPct.toFixed(0)}%` : 'n/a'} / ${r ? `${r.otherPct.toFixed(0)}%` : 'n/a'} |`,
    );
  }
  const notes = o.cases.flatMap((c) => results[c].notes.map((n) => `${CASE_TITLES[c]}: ${n}`));
  if (notes.length) {
    out.push('');
    out.push(`**Fewer runs than asked:** ${notes.join('; ')}.`);
  }
  out.push('');

  // Goals
  const goals = [];
  const g = (name, value, limit, ok, why = '') => goals.push({ name, value, limit, ok, why });
  if (both) {
    if (S.b?.smr && S.b?.rsync) {
      const wr = ratio(S.b.smr.wire, S.b.rsync.wire);
      g('(b) wire bytes ≤ 0.25× rsync', wr, GOALS.wireB, wr <= GOALS.wireB);
    }
    for (const c of ['a', 'b', 'd']) {
      if (!S[c]?.smr || !S[c]?.rsync) continue;
      const tr = ratio(S[c].smr.wallMs, S[c].rsync.wallMs);
      g(
        `${c === 'a' ? '(a)' : c === 'b' ? '(b)' : '(d)'} time ≤ 1.0× rsync`,
        tr,
        GOALS.time,
        tr <= GOALS.time,
      );
    }
    if (S.b20?.smr && S.b20?.rsync) {
      const tr = ratio(S.b20.smr.wallMs, S.b20.rsync.wallMs);
      g(`limited (b) time ≤ 0.3× rsync`, tr, GOALS.limitedB, tr <= GOALS.limitedB);
    }
  }
  const smrRuns = o.cases.flatMap((c) => results[c].smr);
  if (smrRuns.length) {
    const maxSum = Math.max(...smrRuns.map((r) => r.rssKiB)) / 1024;
    const maxOne =
      Math.max(...smrRuns.map((r) => Math.max(r.rssParts.source, r.rssParts.target))) / 1024;
    g('peak RSS ≤ 150 MiB (each smr daemon)', maxOne, GOALS.rssMiB, maxOne <= GOALS.rssMiB);
    g(
      'peak RSS ≤ 150 MiB (both smr daemons together)',
      maxSum,
      GOALS.rssMiB,
      maxSum <= GOALS.rssMiB,
    );
  }
  out.push('Goals for smr:');
  out.push('');
  for (const x of goals) {
    const isRss = x.name.includes('RSS');
    const val = isRss ? `${x.value.toFixed(0)} MiB` : fmtRatio(x.value);
    const miss = x.ok ? '' : `, ${(x.value / x.limit).toFixed(2)}× the limit`;
    out.push(`- ${x.name}: ${x.ok ? 'met' : '**missed**'} (${val}${miss})`);
  }
  out.push('');

  // Per-run detail
  out.push('<details><summary>Every run</summary>');
  out.push('');
  out.push(
    "| case | tool | run | time | CPU | other programs | wire ↑ | wire ↓ | tool's own count | peak RSS |",
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of o.cases) {
    for (const tool of o.tools) {
      results[c][tool].forEach((r, i) => {
        const own =
          tool === 'smr'
            ? `sent.bytes ${bytes(r.dataBytes)}, sent.wireBytes ${bytes(r.recordBytes)}`
            : `sent ${bytes(r.statsSent)}, received ${bytes(r.statsReceived)}, literal ${bytes(r.literal)}, matched ${bytes(r.matched)}`;
        const rss =
          tool === 'smr'
            ? `${mib(r.rssKiB)} (source ${mib(r.rssParts.source)} + target ${mib(r.rssParts.target)}${r.rssReset ? '' : ', lifetime peak: clear_refs failed'})`
            : `${mib(r.rssKiB)} (client ${mib(r.rssParts.client)} + server ${mib(r.rssParts.server)} in ${r.rssParts.serverProcs} processes + daemon ${mib(r.rssParts.daemon)})`;
        out.push(
          `| ${c} | ${tool} | ${i + 1} | ${secs(r.wallMs)} | ${secs(r.cpuMs)} | ${r.otherPct.toFixed(0)}% | ` +
            `${bytes(r.up)} | ${bytes(r.down)} | ${own} | ${rss} |`,
        );
      });
    }
  }
  out.push('');
  out.push('</details>');
  out.push('');

  if (meta.profile) {
    out.push(
      '### Where the smr daemons spent their CPU (`--cpu-prof`, main thread, samples split by timed run)',
    );
    out.push('');
    out.push(
      '"Owner" is the nearest smr function on the sampled stack (its own work plus what it calls ' +
        'synchronously: hashing, buffer copies, fs calls); garbage collection and libuv callbacks have none.',
    );
    out.push('');
    const labels = [...o.cases, 'outside the timed runs'];
    for (const label of labels) {
      const parts = Object.entries(meta.profile)
        .map(([daemon, p]) => [daemon, p.labels[label]])
        .filter(([, b]) => b && b.total > 0);
      if (!parts.length) continue;
      out.push(`**${CASE_TITLES[label] ?? label}**`);
      out.push('');
      out.push('| daemon | CPU | GC | top owners | top self time |');
      out.push('|---|---|---|---|---|');
      const pct = (us, b) => `${((100 * us) / b.total).toFixed(0)}%`;
      for (const [daemon, b] of parts) {
        const clean = (k) => k.replace(/ \(no smr frame on the stack\)$/, ' (no smr frame)');
        out.push(
          `| ${daemon} | ${(b.total / 1e6).toFixed(2)} s | ${pct(b.gc, b)} | ` +
            `${b.owner
              .slice(0, 6)
              .map(([k, us]) => `\`${clean(k)}\` ${pct(us, b)}`)
              .join('<br>')} | ` +
            `${b.self
              .slice(0, 6)
              .map(([k, us]) => `\`${k}\` ${pct(us, b)}`)
              .join('<br>')} |`,
        );
      }
      out.push('');
    }
  }

  out.push('### Method');
  out.push('');
  out.push(
    `- One smr target daemon and one smr source daemon for the whole run; connections made with ` +
      `\`smr connect NAME --to 127.0.0.1:PORT --path SRC --mirror none ${o.replicate ? '' : '--no-replicate'}\` ` +
      `${o.replicate ? '(replication on)' : '(replication off: the mirror engine alone, no file watcher, like rsync)'}; ` +
      `each run is \`smr mirror start NAME --mode full|diff|checksum --wait\`. ` +
      `(a) uses a new connection (new, empty replica directory) per run; (d) re-checks the replica the last (a) run left.`,
  );
  out.push(
    `- rsync: \`rsync --daemon --no-detach\` on 127.0.0.1, module \`[bench]\` (\`use chroot = no\`, \`read only = no\`); ` +
      `the client pushes \`rsync -a --stats SRC/ rsync://127.0.0.1:PORT/bench/DEST/\` (rsync's defaults: delta transfer ` +
      `against the daemon, temp file + rename, no fsync), \`-c\` for (d), \`--bwlimit=${Math.round(o.rate * 1024)}\` (KiB/s) for the limited cases.`,
  );
  out.push(
    `- (b)/(c): before every run the replica (of each tool) is reset to the old file with the old mtime; the source ` +
      `files were written once. smr limited runs: \`smr limit NAME --bandwidth ${o.rate}MiB/s\` (it paces queued records, ` +
      `source→target; rsync's --bwlimit paces what the client sends).`,
  );
  out.push(
    `- Warm caches: the machine has ${meta.ramGiB} GiB of RAM, every input is read once before its case, \`sync\` runs ` +
      `before every timed run so no writeback of the previous one is pending. Tool order alternates from run to run. ` +
      `Every replica is compared with its source byte for byte (and mtime) after every run.`,
  );
  out.push(
    `- Scratch data, replicas and state under ${meta.workDirText} (disk ${optsDisk(meta)}); ` +
      'everything is generated afresh and deleted at the end (`--keep` keeps it).',
  );
  out.push(
    o.proxy
      ? `- Both tools connect through a counting TCP proxy (a Node child process of the bench, one per tool), so wire bytes are ` +
          `counted the same way and include smr's block-hash, checksum (\`sums\`) and signature requests and replies (which smr's \`sent.wireBytes\` leaves out) ` +
          `and rsync's checksums and file list. The proxy adds a copy on loopback to both tools' times.`
      : "- No proxy (`--no-proxy`): wire bytes are smr's `sent.wireBytes` (queued records only) and rsync's --stats totals.",
  );
  out.push(
    "- Peak RSS: smr daemons' VmHWM reset with `echo 5 > /proc/PID/clear_refs` before each run and read after it; rsync client " +
      "via `/usr/bin/time -f %M`; the rsync daemon's per-connection processes by VmHWM sampled every 20 ms (sum of each process's peak).",
  );
  out.push('');
  out.push('### Commentary');
  out.push('');
  for (const line of commentary(o, data, S, goals, meta)) out.push(line);
  const met = goals.every((x) => x.ok);
  return {
    markdown: out.join('\n'),
    exitCode: o.strict && !met ? 1 : 0,
    section: o.profile ? 'mirror-profile' : 'mirror',
  };
}

function optsDisk(meta) {
  return meta.disk ?? 'unknown';
}

/** smr's block size for a `blocks` reply on a file of `size` bytes (`blocksBlockSize`, src/protocol/limits.ts). */
function smrBlockSize(size) {
  let bs = 4096;
  while (Math.ceil(size / bs) * 8 > (8 * MiB) / 2) bs *= 2;
  return bs;
}

function commentary(o, data, S, goals, meta) {
  const L = [];
  const missed = goals.filter((x) => !x.ok);
  L.push(
    missed.length
      ? `- smr missed ${missed.length} of ${goals.length} goals in this run: ` +
          missed
            .map(
              (x) =>
                `${x.name} (${x.name.includes('RSS') ? `${x.value.toFixed(0)} MiB` : fmtRatio(x.value)}, ` +
                `${(x.value / x.limit).toFixed(2)}× the limit)`,
            )
            .join('; ') +
          '.'
      : `- smr met all ${goals.length} goals in this run.`,
  );
  const both = (c) => S[c]?.smr && S[c]?.rsync;
  const cmp = (c) =>
    `smr ${secs(S[c].smr.wallMs)} vs rsync ${secs(S[c].rsync.wallMs)} (${fmtRatio(ratio(S[c].smr.wallMs, S[c].rsync.wallMs))}), ` +
    `CPU ${secs(S[c].smr.cpuMs)} vs ${secs(S[c].rsync.cpuMs)} (${fmtRatio(ratio(S[c].smr.cpuMs, S[c].rsync.cpuMs))})`;
  // What this run's profile found on top in case `c` (with --profile), else where to look.
  const profiled = (c) => {
    const parts = Object.entries(meta.profile ?? {})
      .map(([daemon, p]) => [daemon, p.labels[c]])
      .filter(([, b]) => b && b.total > 0 && b.self.length);
    if (!parts.length)
      return "the profiled run (section `mirror-profile`) shows what each daemon's main thread spent its CPU on";
    const pct = (us, b) => `${((100 * us) / b.total).toFixed(0)}%`;
    return (
      "in this run's profile the largest self-time item was " +
      parts
        .map(
          ([daemon, b]) =>
            `\`${b.self[0][0]}\` on the ${daemon} (${pct(b.self[0][1], b)} of its CPU; garbage collection ${pct(b.gc, b)})`,
        )
        .join(' and ')
    );
  };
  const kib = (n) => `${n / KiB} KiB`;
  const others = o.cases
    .flatMap((c) => o.tools.map((t) => S[c][t]?.otherPct))
    .filter(Number.isFinite);
  if (others.length && median(others) > 15)
    L.push(
      `- The machine was shared: other programs used ${Math.min(...others).toFixed(0)}–${Math.max(...others).toFixed(0)}% ` +
        `of its CPU during the timed runs (median ${median(others).toFixed(0)}%; see the CPU table). Wall times are inflated ` +
        'for both tools; tool order alternates from run to run so neither is favoured, and the CPU-time ratios are the ' +
        'steadier comparison.',
    );
  if (both('a')) {
    const perFile = S.a.smr.cpuMs / data.tree.files;
    L.push(
      `- (a) full mirror: ${cmp('a')}; both moved the same ~${bytes(data.tree.bytes)}. smr's cost is per file, not per ` +
        `byte: ${perFile.toFixed(1)} ms of CPU per file. For every file the source daemon lstats it three times, all ` +
        'synchronously (the scan, src/source/scan.ts, then `resend` and `check` in src/source/capture.ts); reads a file of ' +
        'up to 64 KiB with synchronous open/read/fstat/close into a buffer sized to it (`captureSmall` in ' +
        'src/source/file-capture.ts; larger ones go through `sendWhole` with asynchronous reads, a fresh 1 MiB buffer per ' +
        'part) and hashes it with xxh64 per 16 KiB block for its block cache; appends it to its journal as one `put` record ' +
        '(a synchronous writev for batches up to 256 KiB; a group-commit fdatasync on a timer covers every append since ' +
        'the last one, and sending does not wait for it: src/journal/writer.ts). That buffer is handed over to the ' +
        "journal's in-memory hot tail as it is (`handOver`, src/journal/hot-tail.ts), and the sender takes the record " +
        'from there without reading it back or copying it, frames sent in one tick leaving in one writev ' +
        '(src/protocol/peer.ts); the mirror keeps at most 16 MiB queued (`MAX_QUEUED_BYTES` in src/source/mirror.ts) so ' +
        'the sender stays inside the hot tail. The target lands a whole file of up to 256 KiB in one op with synchronous ' +
        'calls — temp file, mode, mtime, rename (`putSmallSync` in src/target/ops.ts) — and at each checkpoint (every ' +
        '4 MiB, 2,000 ops or 100 ms) makes what it touched durable before it acknowledges (`Applier.checkpoint` in ' +
        "src/target/applier.ts), applying nothing meanwhile: with one syncfs(2) of the replica's file system when 64 " +
        "or more paths changed (coreutils' `sync --file-system`, run by one long-lived `sh` helper so the daemon does " +
        'not fork itself per checkpoint: Node has no syncfs), else an fsync per path (`syncPaths` in ' +
        'src/target/sync-paths.ts). Applying on while a checkpoint syncs was tried and measured ' +
        "slower (new files' creates waited behind the sync's journal commits). rsync reads each file once, writes it " +
        'once and fsyncs nothing; smr also writes every byte to its journal. The source handles one path at a time ' +
        '(`Capture.loop` awaits each step), so its per-file calls never overlap, for files whose median is ' +
        `${bytes(data.tree.small.median)}; ${profiled('a')}.`,
    );
  }
  if (both('d')) {
    L.push(
      `- (d) checksum compare, nothing to send: ${cmp('d')}; wire ${bytes(S.d.smr.wire)} vs ${bytes(S.d.rsync.wire)}. ` +
        'smr first has the target list the replica (`listTree`, src/target/listing.ts, a synchronous lstat per entry), ' +
        'then compares whole-file sha256 in batches (`compareBatch` in src/source/mirror.ts): one `sums` request names up to ' +
        '256 files or 64 MiB, and while the target hashes them one after the other (`sha256File`) the source hashes its own ' +
        'copies, also one after the other (`hashBlocks`: sha256 plus xxh64 per 16 KiB block, kept as the basis of later ' +
        'changes). Files up to 256 KiB are read whole on both sides with synchronous calls into one shared buffer ' +
        '(`readSmallSync`, src/delta/small-file.ts). The scan gathers and hashes the next batch while one reply is awaited ' +
        '(two batches in flight, `SUMS_IN_FLIGHT`), and ' +
        'the files of a batch proven equal are then recorded in one step through the capture pipeline (`recordSame`, a ' +
        `synchronous lstat each), for files whose median is ${bytes(data.tree.small.median)}. In a profile of this case ` +
        'the source was busy nearly all the time once the listing was done, the target about 60%: sha256 is about a ' +
        "third of the source's work, the rest per-file calls and garbage collection. Like rsync -c, smr compares one whole-file " +
        "checksum per file; rsync's sender and receiver checksum their files in parallel streams; " +
        `${profiled('d')}.`,
    );
  }
  if (both('b')) {
    const bs = smrBlockSize(data.big.size);
    L.push(
      `- (b) 1% of blocks rewritten: wire ${bytes(S.b.smr.wire)} vs ${bytes(S.b.rsync.wire)} ` +
        `(${fmtRatio(ratio(S.b.smr.wire, S.b.rsync.wire))}: smr sends the ${data.big.nChanged.toLocaleString('en')} ` +
        `changed 4 KiB blocks (compared at ${kib(bs)}, its block size for a file this size: \`blocksBlockSize\` in ` +
        "src/protocol/limits.ts) plus the target's block-hash list, 8 bytes per block, back to the source; rsync compares " +
        `blocks of about √size — ${bytes(Math.round(Math.sqrt(data.big.size) / 8) * 8)} here — so its literal data was ` +
        `${bytes(median(S.b.rsync.runs.map((r) => r.literal)))}, ` +
        `${bytes(median(S.b.rsync.runs.map((r) => r.literal)) / data.big.nChanged)} per changed 4 KiB block). ` +
        `Time: ${cmp('b')}. smr reads the ${bytes(data.big.size)} file in full three times, each time with sha256 ` +
        "(the first two with xxh64 per block besides), and those two run at the same time: the target's `hashBlocks` for the `blocks` " +
        "reply and the source's `hashForMirror` at the same block size (`Promise.all` in `Capture.compareAndSend`, " +
        'src/source/capture.ts). The source then reads and sends only the differing ranges that pass found ' +
        "(`differingRanges`, `sendRanges` in src/source/mirror-file.ts), with that pass's sha256 as the proof, and after " +
        'the in-place writes the target re-reads the whole file to check it (`sha256File` in `applyWrite`, ' +
        `src/target/ops.ts); ${profiled('b')}. rsync makes three passes (receiver checksums the basis, sender rolls ` +
        'through the file, receiver writes a new copy) with cheaper hashes.',
    );
  }
  if (both('b20')) {
    const floorR = (S.b20.rsync.up / (o.rate * MiB)) * 1000;
    const floorS = (S.b20.smr.up / (o.rate * MiB)) * 1000;
    const rsyncBound = S.b?.rsync && S.b20.rsync.wallMs > S.b.rsync.wallMs * 1.2;
    L.push(
      `- (b) at ${o.rate} MiB/s: ${cmp('b20')}. At that rate rsync's ${bytes(S.b20.rsync.up)} need at least ` +
        `${secs(floorR)} and smr's ${bytes(S.b20.smr.up)} ${secs(floorS)}. ` +
        (S.b?.rsync && S.b?.smr
          ? `rsync went from ${secs(S.b.rsync.wallMs)} unlimited to ${secs(S.b20.rsync.wallMs)}` +
            (rsyncBound
              ? ' (the link now bounds it)'
              : ' (its hashing, not the link, still bounds it)') +
            `; smr from ${secs(S.b.smr.wallMs)} to ${secs(S.b20.smr.wallMs)}: its time is the full-file passes described ` +
            'above, not the link. '
          : '') +
        `For 0.3× smr would have to finish in ${secs(0.3 * S.b20.rsync.wallMs)}` +
        (S.b?.smr && 0.3 * S.b20.rsync.wallMs < S.b.smr.wallMs
          ? ', below the compare-and-hash cost it pays even unlimited; next step (3) below removes one of its three full passes.'
          : '.') +
        ' On a slower link the ratio moves towards the wire ratio.',
    );
  }
  if (both('c')) {
    L.push(
      `- (c) 1 MiB inserted: wire ${bytes(S.c.smr.wire)} vs ${bytes(S.c.rsync.wire)}; ${cmp('c')}. Both send about the ` +
        "inserted MiB; smr's extra wire bytes are its signatures. smr first samples 32 blocks of 4 KiB spread over the " +
        'file on both sides (`looksShifted`, src/source/mirror-file.ts, one `fine` request); most differ, so it goes ' +
        'straight to the content-defined delta (`sendDelta`, src/source/delta-send.ts) without the full block-hash pass ' +
        'of (b): the source chunks its file (`buildDelta`, with its sha256 and the block hashes capture keeps, from the ' +
        'same read) while the target computes its coarse signature without sha256 (the sample proved the files differ); ' +
        'then the target rebuilds the file into a temp copy — reading the basis, writing the temp file and hashing it as ' +
        'it writes, since the instructions come in destination order (`applyDeltaPart`, src/target/ops.ts) — renames it, ' +
        'and fsyncs it at the next checkpoint. That is one chunking pass per side (in parallel) plus the rebuild, against ' +
        "rsync's three passes; in a profile each smr daemon was busy about 3 s of the run, the chunking (JavaScript, " +
        '`chunkStream`) and the rebuild being on the critical path one after the other.',
    );
  }
  if (meta.cliStartMs?.length)
    L.push(
      `- Every smr time includes starting the CLI (\`smr mirror start … --wait\`): \`smr mirror --help\`, which loads ` +
        `the same modules (only the mirror verb's: \`verbsFor\` in src/cli/verbs/index.ts), took ` +
        `${secs(median(meta.cliStartMs))} here. rsync's client starts in milliseconds. It is a fixed cost, visible ` +
        'mostly in the shorter runs.',
    );
  const smrRuns = o.cases.flatMap((c) => S[c].smr?.runs ?? []);
  if (smrRuns.length) {
    const src = Math.max(...smrRuns.map((r) => r.rssParts.source)) / 1024;
    const tgt = Math.max(...smrRuns.map((r) => r.rssParts.target)) / 1024;
    const bs = smrBlockSize(data.big.size);
    const nBig = Math.ceil(data.big.size / bs) + Math.ceil(data.big.size / (16 * KiB));
    L.push(
      `- Memory: the smr source daemon peaked at ${src.toFixed(0)} MiB and the target at ${tgt.toFixed(0)} MiB ` +
        `(rsync's processes together stay around 20 MiB). A Node daemon starts at ~45–50 MiB of code and runtime. On ` +
        'top of that, in data: the 8 MiB send window (`WINDOW_BYTES`, src/source/link.ts) and the frames decoded from ' +
        "it; on the source, the journal's hot tail (up to 16 MiB of written records, `HOT_TAIL_BYTES` in " +
        "src/journal/hot-tail.ts, holding the buffers writers handed over rather than copies) and the mirror's queue " +
        'bound (16 MiB, `MAX_QUEUED_BYTES` in src/source/mirror.ts); per-file and per-part buffers, freed only at the ' +
        'next garbage collection (V8 lets tens of MiB of such external memory build up before it collects); per ' +
        'connection, the known state of every replicated path (inode, size, mtime, mode), its block hashes and the seq ' +
        'that last touched it — (a) makes a new connection per run, so the source daemon holds several; on the target, ' +
        'the 64 KiB socket chunks and copies of frames split across them; and for the big file the hash lists ' +
        `\`hashForMirror\` builds as JavaScript arrays of BigInt (~${Math.round(nBig / 1000)}k heap BigInts before they ` +
        `become BigUint64Arrays) plus a copy of the ${bytes(Math.ceil(data.big.size / bs) * 8)} block-hash reply ` +
        '(`decodeRemoteBlocks`). Garbage collection that has not happened yet and a V8 heap grown and not returned count ' +
        'as much as live data: peaks are per run after resetting VmHWM, but what a long-running daemon keeps from ' +
        'earlier work is what a user sees.',
    );
  }
  L.push(
    '- Next steps (not yet measured, so not ranked): (1) several files in flight in the mirror instead of one at a ' +
      "time: `Capture.loop` awaits every step, so one file's lstat, read, hash and append never overlap the next " +
      "one's; (2) in (c), a faster chunker (the gear hash runs in JavaScript, ~1 s per GiB) or one that runs in a " +
      'worker thread beside the sha256; (3) let the target prove an in-place write without re-reading the ' +
      'whole file (`sha256File` in `applyWrite`, 0.64 s of the target in a profile of (b)): a root hash over per-block ' +
      'sha256 on both sides instead of the whole-file sha256, the target keeping its per-block hashes from the `blocks` ' +
      'reply (valid while the file keeps its inode, size, mtime and ctime) and rehashing only the written blocks; ' +
      '(4) batch many small files per journal ' +
      'record and frame, instead of one `put` record, one hot-tail entry, one frame and one target op per file; ' +
      '(5) RSS: a heap snapshot of a source daemon that had just synced 10,000 files held ~46 MiB of live JavaScript ' +
      'objects (10,000 `fs.watch` handles among them: chokidar watches every file as well as its directory), far below ' +
      'its RSS; the rest is heap grown and not yet returned and external buffers awaiting collection. Tried without a ' +
      'measurable change: `MALLOC_ARENA_MAX=2`, halving the hot tail and the mirror queue bound (8 MiB each), ' +
      '`--max-semi-space-size` 2 or 4 (slower). Still to try: fewer per-file allocations, a read buffer of our own ' +
      'on the target socket (`onread`), block hashes written straight into BigUint64Arrays rather than arrays of BigInt.',
  );
  if (o.replicate && S.a?.smr) {
    const dup = median(S.a.smr.runs.map((r) => r.dataBytes)) / data.tree.bytes;
    if (dup > 1.2)
      L.push(
        `- With replication on (\`--replicate\`), the full mirror queued ${dup.toFixed(2)}× the tree's bytes, so some ` +
          'files went more than once: live changes seen by the watcher are sent too, although `Capture.mirrorPath` ' +
          '(src/source/capture.ts) skips a path already sent during this mirror whose known state still matches the ' +
          'disk; `sent.bytes` of each run is in the per-run table above.',
      );
  }
  return L;
}

// ---------------------------------------------------------------------------------------------

export async function run(opts) {
  const int = (k, min) => {
    const v = Number(opts[k]);
    if (!Number.isInteger(v) || v < min) throw new BenchError(`--${k} must be an integer ≥ ${min}`);
    return v;
  };
  const cases = opts.cases
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of cases)
    if (!CASES.includes(c)) throw new BenchError(`unknown case "${c}" (a,b,c,d,b20,c20)`);
  const tools = opts.tools
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of tools)
    if (!['smr', 'rsync'].includes(t)) throw new BenchError(`unknown tool "${t}"`);
  if (tools.includes('rsync')) requireTools(['rsync']);
  if (opts['smr-root']) {
    SMR = path.join(path.resolve(opts['smr-root']), 'bin', 'smr.js');
    if (!fs.existsSync(path.join(path.resolve(opts['smr-root']), 'dist', 'cli', 'main.js')))
      throw new BenchError(`${opts['smr-root']}: no built dist/ (run tsc there first)`);
  } else if (tools.includes('smr')) requireBuild();
  const o = {
    cases: CASES.filter((c) => cases.includes(c)),
    tools: ['smr', 'rsync'].filter((t) => tools.includes(t)),
    reps: int('reps', 1),
    bigReps: int('big-reps', 1),
    files: int('files', 100),
    treeMiB: int('tree-mib', 1),
    bigMiB: int('big-mib', 4),
    rate: Number(opts.rate),
    seed: int('seed', 0),
    budget: Number(opts.budget),
    proxy: !opts['no-proxy'],
    replicate: opts.replicate,
    profile: opts.profile,
    strict: opts.strict,
    quietWait: int('quiet-wait', 0),
  };
  if (!(o.rate > 0)) throw new BenchError('--rate must be a positive number of MiB/s');
  const argv = process.argv.slice(3).filter((a) => a !== '--no-write' && a !== '--keep');
  const meta = {
    argsText: argv.length ? ` ${argv.join(' ')}` : '',
    smrVersion: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    git: opts['smr-root'] ? null : gitState(),
    smrRoot: opts['smr-root'] ? path.resolve(opts['smr-root']) : null,
    smrRootNote: opts['smr-root'] ? readRootNote(path.resolve(opts['smr-root'])) : null,
    rsyncVersion:
      toolVersion('rsync', ['--version'])
        ?.replace(/\s+protocol.*$/, '')
        .replace(/^rsync\s+version\s+/, 'rsync ') ?? 'rsync ?',
    ramGiB: opts.machine.ramGiB,
    disk: opts.machine.disk,
    workDirText: opts['work-dir'] ? `\`${opts['work-dir']}\`` : '`bench/work`',
    windows: [],
  };
  const started = performance.now();
  let dir;
  if (opts['work-dir']) {
    fs.mkdirSync(opts['work-dir'], { recursive: true });
    dir = fs.mkdtempSync(path.join(path.resolve(opts['work-dir']), 'mirror-'));
  } else dir = workDir('mirror');
  say(`scratch: ${dir}`);
  const clock = makeClock(o, started);
  let sys = {};
  let results;
  let data;
  try {
    say(`generating data (${o.files} files, ${o.treeMiB} MiB tree, ${o.bigMiB} MiB big file)`);
    data = generate(path.join(dir, 'data'), o);
    syncDisks();
    say('data ready');
    if (o.tools.includes('smr')) sys.smr = await startSmrSide(dir, o);
    if (o.tools.includes('rsync')) sys.rsync = await startRsyncSide(dir, o);
    meta.cliStartMs = [];
    if (sys.smr)
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await runCommand(process.execPath, [SMR, 'mirror', '--help']); // loads what `mirror start` loads
        meta.cliStartMs.push(performance.now() - t0);
      }
    clock.start();
    results = await runCases(dir, o, data, sys, clock, meta);
    if (sys.smr) {
      meta.lifetimeHwm = {
        source: peakRss(sys.smr.source.pid),
        target: peakRss(sys.smr.target.pid),
      };
      meta.currentRss = {
        source: currentRss(sys.smr.source.pid),
        target: currentRss(sys.smr.target.pid),
      };
    }
  } finally {
    await sys.smr?.stop().catch(() => undefined);
    await sys.rsync?.stop().catch(() => undefined);
  }
  if (o.profile && sys.smr) {
    meta.profile = {};
    const files = fs.existsSync(sys.smr.profDir) ? fs.readdirSync(sys.smr.profDir) : [];
    for (const [label, h] of [
      ['source daemon', sys.smr.source],
      ['target daemon', sys.smr.target],
    ]) {
      const f = files.find((n) => n.includes(`.${h.pid}.`));
      if (f) meta.profile[label] = summarizeProfile(path.join(sys.smr.profDir, f), meta.windows);
    }
  }
  meta.totalMs = performance.now() - started;
  if (!opts.keep) rmrf(dir);
  return report(o, data, results, meta);
}

/** A one-line description of an `--smr-root` build: its BUILD-NOTE file when it has one. */
function readRootNote(root) {
  try {
    return fs.readFileSync(path.join(root, 'BUILD-NOTE'), 'utf8').trim().split('\n')[0];
  } catch {
    return null;
  }
}

/** The commit the measured dist/ was built from, and whether src/ had uncommitted changes. */
function gitState() {
  const head = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return null;
  const st = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], {
    encoding: 'utf8',
  });
  const dirty = st.stdout.split('\n').filter(Boolean).length;
  return { head: head.stdout.trim(), dirty };
}

/** Tracks per-case run times so the 1 GiB cases can be cut short to stay within the budget. */
function makeClock(o, started) {
  let last = null;
  const perRun = new Map(); // case -> [ms per tool-run]
  return {
    start() {
      last = performance.now();
    },
    tick(c) {
      const now = performance.now();
      if (!perRun.has(c)) perRun.set(c, []);
      perRun.get(c).push(now - last);
      last = now;
    },
    /** How many runs of case `c` fit, given the time used so far and the big cases still to come. */
    repsFitting(c, reps, rep, bigCases) {
      const budgetMs = o.budget * 60_000;
      const elapsed = performance.now() - started;
      const runMs = (x) => {
        const v = perRun.get(x) ?? perRun.get(x[0]) ?? perRun.get(c) ?? [];
        return v.length ? (v.reduce((a, b) => a + b, 0) / v.length) * o.tools.length : 0;
      };
      const later = bigCases.slice(bigCases.indexOf(c) + 1);
      // Leave at least one run for every later case.
      const laterMs = later.reduce((a, x) => a + runMs(x), 0);
      let fit = rep - 1;
      let t = elapsed + laterMs;
      while (fit < reps && t + runMs(c) <= budgetMs) {
        t += runMs(c);
        fit++;
      }
      return Math.max(rep - 1, fit);
    },
  };
}
