// Shared helpers of the benchmark modules (scripts/bench/<name>.mjs): machine facts, scratch
// directories, child processes, percentiles, memory sampling and the bench/RESULTS.md writer.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The smr launcher. */
export const SMR = path.join(ROOT, 'bin', 'smr.js');
/** Scratch space (git-ignored). */
export const WORK = path.join(ROOT, 'bench', 'work');
/** The results file. */
export const RESULTS = path.join(ROOT, 'bench', 'RESULTS.md');

export { delay };

/** A failure that should end the bench with this message and exit code 1, no stack. */
export class BenchError extends Error {}

/** Progress line on stderr (stdout stays for the final markdown). */
export function say(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Machine facts

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !r.stdout) return null;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? null;
}

function diskOf(dir) {
  const r = spawnSync('df', ['-PT', dir], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n')[1];
  if (!line) return 'unknown';
  const [dev, type] = line.split(/\s+/);
  let kind = '';
  const base = path.basename(dev ?? '').replace(/p?\d+$/, '');
  try {
    const rot = fs.readFileSync(`/sys/block/${base}/queue/rotational`, 'utf8').trim();
    kind = rot === '1' ? ', reports rotational' : ', non-rotational';
    if (fs.readFileSync(`/sys/block/${base}/device/vendor`, 'utf8').trim() === '0x1af4')
      kind += ', virtio';
  } catch {
    // not a plain block device (overlay, tmpfs...)
  }
  return `${dev} (${type}${kind})`;
}

/** Facts about this machine, for the results header. */
export function machineFacts() {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  let distro = os.type();
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) distro = m[1];
  } catch {
    // no os-release
  }
  const virt = [
    firstLine('systemd-detect-virt', ['--vm']),
    firstLine('systemd-detect-virt', ['--container']),
  ]
    .filter((v) => v && v !== 'none')
    .join(' VM, ');
  fs.mkdirSync(WORK, { recursive: true });
  return {
    host: os.hostname(),
    cpu,
    cores: os.cpus().length,
    ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    distro,
    virt,
    node: process.version,
    disk: diskOf(WORK),
  };
}

/** One-line machine summary. */
export function machineLine(m) {
  return (
    `${m.cpu}, ${m.cores} ${m.virt ? `vCPUs (${m.virt}${/docker|lxc|podman|container/.test(m.virt) ? ' container' : ''})` : 'cores'}, ${m.ramGiB} GiB RAM, ` +
    `${m.distro}, kernel ${m.kernel.replace(/^Linux /, '')}, Node ${m.node}, disk ${m.disk}`
  );
}

/** Version line of an external tool (null when missing). */
export function toolVersion(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return null;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
}

/** Absolute path of `cmd` on PATH, or null. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Throws a BenchError naming the apt packages to install when a tool is missing. */
export function requireTools(names) {
  const missing = names.filter((n) => !which(n));
  if (missing.length)
    throw new BenchError(
      `missing ${missing.join(' and ')}: this benchmark compares against them; install with\n` +
        `  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
}

/** Throws unless dist/ is built. */
export function requireBuild() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))
    throw new BenchError('dist/ is not built: run `npm run build` (or `npm run bench`)');
}

// ---------------------------------------------------------------------------------------------
// Scratch directories

/** A fresh directory under bench/work. */
export function workDir(name) {
  fs.mkdirSync(WORK, { recursive: true });
  return fs.mkdtempSync(path.join(WORK, `${name}-`));
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A free TCP port on 127.0.0.1 (closed again; a small race with other programs is accepted). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port. */
export async function waitForPort(host, port, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect({ host, port });
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new BenchError(`nothing listens on ${host}:${port}`);
    await delay(20);
  }
}

/**
 * Spawns a long-running process whose stdout and stderr go to `logFile` (lines are also kept for
 * `waitForLine`). Returns { proc, pid, lines, waitForLine, stop, exited }.
 */
export function startProcess(cmd, args, { logFile, env, cwd } = {}) {
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    cwd,
  });
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  const lines = [];
  const listeners = new Set();
  const onLine = (stream) => (line) => {
    const entry = { t: Date.now(), stream, line };
    lines.push(entry);
    log?.write(`${new Date(entry.t).toISOString()} ${stream} ${line}\n`);
    for (const l of listeners) l(entry);
  };
  readline.createInterface({ input: proc.stdout }).on('line', onLine('out'));
  readline.createInterface({ input: proc.stderr }).on('line', onLine('err'));
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
    log?.end();
  });
  const tail = () =>
    lines
      .slice(-15)
      .map((e) => `  ${e.line}`)
      .join('\n');
  return {
    proc,
    pid: proc.pid,
    lines,
    exited,
    get alive() {
      return !gone;
    },
    /** Resolves with the first line (past or future) matching `re` on `stream` ('out'|'err'|any). */
    waitForLine(re, { stream, timeoutMs = 20_000, what = String(re) } = {}) {
      const match = (e) => (!stream || e.stream === stream) && re.test(e.line);
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const finish = (fn) => {
          listeners.delete(listener);
          clearTimeout(timer);
          fn();
        };
        const listener = (e) => {
          if (match(e)) finish(() => resolve(e));
        };
        listeners.add(listener);
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new BenchError(
                  `${path.basename(cmd)}: no ${what} after ${timeoutMs} ms\n${tail()}`,
                ),
              ),
            ),
          timeoutMs,
        );
        void exited.then(({ code, signal }) =>
          finish(() =>
            reject(
              new BenchError(
                `${path.basename(cmd)} ${args.slice(0, 2).join(' ')} exited (${code ?? signal}) before ${what}\n${tail()}`,
              ),
            ),
          ),
        );
      });
    },
    /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
    async stop(graceMs = 10_000) {
      if (gone) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Runs a command to completion; returns { code, stdout, stderr, json }. */
export function runCommand(cmd, args, { timeoutMs = 120_000, env } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(timer);
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** Runs `smr ...args`; throws a BenchError on a non-zero exit. */
export async function smr(args, opts) {
  const r = await runCommand(process.execPath, [SMR, ...args], opts);
  if (r.code !== 0)
    throw new BenchError(`smr ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile (p in 0..100) of an array of numbers. */
export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** p50/p90/p99/max/mean/min of latencies. */
export function summarize(values) {
  return {
    n: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

/** Milliseconds, 1 decimal under 100, integers above. */
export function ms(v) {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

/** KiB -> "12.3 MiB". */
export function mib(kib) {
  if (!Number.isFinite(kib)) return 'n/a';
  return `${(kib / 1024).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------
// Memory

function statusField(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      fs.readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Peak resident set (VmHWM, KiB) of a live pid; read it right before stopping the process. */
export function peakRss(pid) {
  return statusField(pid, 'VmHWM');
}

/** Resets a live process's peak RSS (VmHWM) to its current RSS; false when not possible. */
export function clearRefs(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The direct children of a live pid (from /proc, cheap enough to sample every few ms). */
function childrenOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return s ? s.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/**
 * Samples VmHWM of every descendant of `pid` (and of `pid` itself with `self`) every
 * `intervalMs`, keeping each process's maximum, so short-lived processes (an rsync daemon's
 * per-connection receiver and generator) are counted. stop() gives { sumKiB, procs }.
 */
export function hwmSampler(pid, { intervalMs = 20, self = false } = {}) {
  const peak = new Map();
  const sample = () => {
    const todo = self ? [pid] : childrenOf(pid);
    while (todo.length) {
      const p = todo.pop();
      const v = peakRss(p);
      if (v !== null) peak.set(p, Math.max(peak.get(p) ?? 0, v));
      todo.push(...childrenOf(p));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { sumKiB: [...peak.values()].reduce((a, b) => a + b, 0), procs: peak.size };
    },
  };
}

/** Current resident set (VmRSS, KiB). */
export function currentRss(pid) {
  return statusField(pid, 'VmRSS');
}

/** Every live descendant of `pid` (scans /proc for parent links). */
export function descendants(pid) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const todo = [...(children.get(pid) ?? [])];
  while (todo.length) {
    const p = todo.pop();
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Samples VmRSS every `intervalMs` of each named pid, and of each one's whole process tree
 * (pid plus descendants, e.g. rsync children), keeping the maxima (KiB).
 */
export class RssSampler {
  constructor(intervalMs = 100) {
    this.intervalMs = intervalMs;
    this.pids = new Map(); // label -> pid
    this.peak = new Map(); // label -> max VmRSS of the pid
    this.treePeak = new Map(); // label -> max sum VmRSS of the pid and its descendants
    this.timer = null;
  }

  add(label, pid) {
    this.pids.set(label, pid);
    this.sample();
  }

  start() {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample() {
    for (const [label, pid] of this.pids) {
      const own = currentRss(pid);
      if (own === null) continue;
      this.peak.set(label, Math.max(this.peak.get(label) ?? 0, own));
      let tree = own;
      for (const d of descendants(pid)) tree += currentRss(d) ?? 0;
      this.treePeak.set(label, Math.max(this.treePeak.get(label) ?? 0, tree));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/** Recursively lists regular files under `dir` as relative paths (skips names matching `skip`). */
export function listFiles(dir, skip = /^$/) {
  const out = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (skip.test(e.name)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Differences between the regular files of two trees (content only), at most `limit`. */
export function diffTrees(a, b, limit = 20) {
  const fa = listFiles(a);
  const fb = new Set(listFiles(b));
  const diffs = [];
  for (const f of fa) {
    if (!fb.has(f)) diffs.push(`missing on replica: ${f}`);
    else if (!fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))))
      diffs.push(`content differs: ${f}`);
    fb.delete(f);
    if (diffs.length >= limit) return diffs;
  }
  for (const f of fb) {
    diffs.push(`extra on replica: ${f}`);
    if (diffs.length >= limit) break;
  }
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Results file

const HEADER = `# smr benchmarks

Written by \`npm run bench -- <name>\` (\`scripts/bench.mjs\`). Each section below is replaced as
a whole by the latest run of its benchmark, stamped with the date and the machine it ran on.
`;

/** Replaces (or appends) the `name` section of bench/RESULTS.md with `body`. */
export function writeSection(name, body, file = RESULTS) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// CPU used by other programs (the bench machine may be shared)

function procCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based here
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

function machineCpu() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return {
    busy: user + nice + system + irq + softirq + (steal ?? 0),
    total: v.reduce((a, b) => a + b, 0) - (v[8] ?? 0) - (v[9] ?? 0),
    idle: idle + iowait,
  };
}

/**
 * Measures how much CPU other programs took while `pids` (and this process, and all their
 * descendants) ran: call `end()` for { otherPct, oursPct } as percentages of the machine's CPU
 * time over the interval (100% = every core busy).
 */
export function cpuWatch(pids) {
  const all = () => [process.pid, ...pids, ...pids.flatMap((p) => descendants(p))];
  const ours = () => [...new Set(all())].reduce((a, p) => a + procCpu(p), 0);
  const m0 = machineCpu();
  const o0 = ours();
  return {
    end() {
      const m1 = machineCpu();
      const o1 = ours();
      const total = m1.total - m0.total;
      const busy = m1.busy - m0.busy;
      const mine = o1 - o0;
      if (total <= 0) return { otherPct: NaN, oursPct: NaN };
      return {
        otherPct: (100 * Math.max(0, busy - mine)) / total,
        oursPct: (100 * mine) / total,
      };
    },
  };
}

let clkTck = null;
/** CPU time (ms) used so far by `pids`, their reaped children and their live descendants. */
export function treeCpuMs(pids) {
  if (clkTck === null)
    clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  const all = new Set([...pids, ...pids.flatMap((p) => descendants(p))]);
  let ticks = 0;
  for (const p of all) ticks += procCpu(p);
  return (ticks * 1000) / clkTck;
}

/**
 * Waits (up to `maxWaitMs`) until other programs use less than `maxOtherPct` of the machine's
 * CPU over a `windowMs` window; returns the last measured share.
 */
export async function waitForQuiet({
  maxOtherPct = 25,
  windowMs = 3000,
  maxWaitMs = 120_000,
  log = say,
} = {}) {
  const end = Date.now() + maxWaitMs;
  for (;;) {
    const w = cpuWatch([]);
    await delay(windowMs);
    const { otherPct } = w.end();
    if (otherPct <= maxOtherPct) return otherPct;
    if (Date.now() >= end) {
      log(`other programs still use ${otherPct.toFixed(0)}% of the CPU; measuring anyway`);
      return otherPct;
    }
    log(`other programs use ${otherPct.toFixed(0)}% of the CPU; waiting for a quieter moment`);
  }
}

/** The 1-minute load average. */
export function loadAvg() {
  return os.loadavg()[0];
}
