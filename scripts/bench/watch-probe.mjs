#!/usr/bin/env node
// One watcher candidate in a process of its own (so its RSS is its own):
//   node scripts/bench/watch-probe.mjs BACKEND ROOT [--latency N]
// Starts watching ROOT, prints one JSON line {readyMs, rssKiB, hwmKiB, watches, ...} once ready;
// with --latency N it then rewrites N files one by one (20–50 ms apart, like the latency bench)
// and reports how long each took to reach the callback (p50/p99/max, ms).
// BACKEND: chokidar (smr's configuration before issue 13: every file and directory watched),
// chokidar-dirs (chokidar with files ignored: directory watches only, file changes taken from the
// directories' raw events), parcel (@parcel/watcher), fswatch-dirs (node's fs.watch on each
// directory, nothing else), smr-native / smr-chokidar (smr's own watcher module, dist/).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const require = createRequire(path.join(ROOT_DIR, 'package.json'));

/** inotify watches held by `pid`: one `inotify wd:` line per watch in the fdinfo of each inotify fd. */
export function inotifyWatches(pid = 'self') {
  let n = 0;
  let fds = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:inotify') continue;
    fds++;
    const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) n++;
  }
  return { watches: n, inotifyFds: fds };
}

function status(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    fs.readFileSync('/proc/self/status', 'utf8'),
  );
  return m ? Number(m[1]) : null;
}

async function startChokidar(root, onPath, dirsOnly) {
  const { watch } = await import(pathToFileURL(require.resolve('chokidar')).href);
  const w = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
    alwaysStat: false,
    persistent: true,
    ignored: dirsOnly ? (_p, st) => Boolean(st && !st.isDirectory()) : () => false,
  });
  w.on('all', (_e, p) => onPath(p));
  w.on('raw', (_e, evPath, details) => {
    const watched = details?.watchedPath;
    if (watched && evPath) onPath(path.join(watched, evPath));
  });
  await new Promise((r) => w.once('ready', r));
  return () => w.close();
}

async function startParcel(root, onPath) {
  const parcel = require('@parcel/watcher');
  const sub = await parcel.subscribe(root, (err, events) => {
    if (err) process.stderr.write(`parcel: ${err.message}\n`);
    for (const e of events) onPath(e.path);
  });
  return () => sub.unsubscribe();
}

async function startFsWatchDirs(root, onPath) {
  const watchers = [];
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop();
    const w = fs.watch(dir, { persistent: true }, (_e, name) =>
      onPath(name ? path.join(dir, name) : dir),
    );
    watchers.push(w);
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) stack.push(path.join(dir, e.name));
  }
  return () => watchers.forEach((w) => w.close());
}

async function startSmr(root, onPath, backend) {
  const { startWatcher } = await import(
    pathToFileURL(path.join(ROOT_DIR, 'dist/source/watcher.js')).href
  );
  const { makeFilter } = await import(
    pathToFileURL(path.join(ROOT_DIR, 'dist/source/filter.js')).href
  );
  const w = await startWatcher({
    base: root,
    filter: makeFilter([], []),
    backend,
    sink: {
      hint: (rel) => onPath(path.join(root, rel)),
      missed: (why) => process.stderr.write(`missed: ${why}\n`),
    },
  });
  return { close: () => w.close(), backend: w.backend };
}

const BACKENDS = {
  chokidar: (r, f) => startChokidar(r, f, false),
  'chokidar-dirs': (r, f) => startChokidar(r, f, true),
  parcel: startParcel,
  'fswatch-dirs': startFsWatchDirs,
  'smr-native': (r, f) => startSmr(r, f, 'native'),
  'smr-chokidar': (r, f) => startSmr(r, f, 'chokidar'),
};

function pick(list, p) {
  const s = [...list].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function latency(root, n, waiters) {
  const files = [];
  for (const d of fs.readdirSync(root)) {
    const sub = path.join(root, d);
    if (!fs.statSync(sub).isDirectory()) continue;
    for (const s of fs.readdirSync(sub)) {
      const leaf = path.join(sub, s);
      if (fs.statSync(leaf).isDirectory()) files.push(path.join(leaf, 'latency-probe.txt'));
      if (files.length >= 20) break;
    }
    if (files.length >= 20) break;
  }
  const out = [];
  for (let i = 0; i < n; i++) {
    const f = files[i % files.length];
    const seen = new Promise((resolve) => waiters.set(f, resolve));
    const t0 = performance.now();
    fs.writeFileSync(f, `write ${i}\n`);
    const ok = await Promise.race([
      seen.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 5000)),
    ]);
    out.push(ok ? performance.now() - t0 : Infinity);
    waiters.delete(f);
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
  }
  for (const f of new Set(files)) fs.rmSync(f, { force: true });
  const finite = out.filter(Number.isFinite);
  return {
    n,
    missed: out.length - finite.length,
    p50: pick(finite, 50),
    p99: pick(finite, 99),
    max: Math.max(...finite),
  };
}

async function main() {
  const [backend, root, ...rest] = process.argv.slice(2);
  const start = BACKENDS[backend];
  if (!start || !root) {
    process.stderr.write(
      `usage: watch-probe.mjs <${Object.keys(BACKENDS).join('|')}> ROOT [--latency N]\n`,
    );
    process.exit(2);
  }
  const li = rest.indexOf('--latency');
  const nLatency = li >= 0 ? Number(rest[li + 1]) : 0;
  const waiters = new Map();
  let events = 0;
  const onPath = (p) => {
    events++;
    waiters.get(p)?.();
  };
  const rssBefore = status('VmRSS');
  const t0 = performance.now();
  const started = await start(path.resolve(root), onPath);
  const readyMs = performance.now() - t0;
  // Let the garbage collector settle what the scan left behind, so RSS is what watching keeps.
  await new Promise((r) => setTimeout(r, 500));
  const result = {
    backend,
    readyMs: Math.round(readyMs),
    rssBeforeKiB: rssBefore,
    rssKiB: status('VmRSS'),
    hwmKiB: status('VmHWM'),
    ...inotifyWatches(),
    eventsDuringSetup: events,
    resolved: started?.backend,
  };
  if (nLatency) result.latency = await latency(path.resolve(root), nLatency, waiters);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const close = typeof started === 'function' ? started : started.close;
  await close();
  process.exit(0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname)
  await main();
