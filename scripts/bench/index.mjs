// `npm run bench -- index`: micro-bench of the durable index (src/index) on its own — no daemon,
// no network. For each size (default 100k and 1M files) a fresh child process, on bench/work's
// disk: insert every file in path order (as a mirror's scan would record them: transactions of
// 10,000, each file with a sha256 and a one-block hash list), point look-ups by path and by inode, rename a
// 100k-entry subtree, walk every entry in path order, list a 1,000-entry directory, count, delete
// the renamed subtree. RSS is read inside the loops (SQLite calls are synchronous, a timer would
// never fire), so the peaks are the process's, not a sampler's guess; VmHWM is the kernel's.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError, ROOT, cpuWatch, loadAvg, rmrf, say, workDir } from './common.mjs';

const DIST = path.join(ROOT, 'dist', 'index', 'index.js');
const TOPS = 10;
const DIRS = 100; // per top directory

export const options = {
  sizes: { type: 'string', default: '100000,1000000' },
  lookups: { type: 'string', default: '200000' },
  'semi-space': { type: 'string', default: '2' },
};

export const help = `usage: node scripts/bench.mjs index [options]

  --sizes LIST     numbers of files, one child process each (default 100000,1000000); files are
                   spread over 10 top directories of 100 directories each, so one top directory
                   (the one renamed) holds a tenth of them
  --lookups N      random point look-ups by path, and by inode (default 200000)
  --semi-space MB  run the largest size once more with V8's young generation capped at this
                   many MiB (--max-semi-space-size; default 2, 0 = no such run), to tell the
                   index's memory from the room V8 takes for garbage under a tight loop
`;

const MIB = 1024 * 1024;
const rss = () => process.memoryUsage.rss();

function vmHwm() {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The file `i` of `n`: top directory, directory, name; i ascending is path order. */
function fileOf(i, n) {
  const perTop = Math.ceil(n / TOPS);
  const perDir = Math.ceil(perTop / DIRS);
  const top = Math.floor(i / perTop);
  const d = Math.floor((i % perTop) / perDir);
  return `t${top}/d${String(d).padStart(3, '0')}/f${String(i).padStart(7, '0')}`;
}

function entry(i, type = 'file') {
  return {
    type,
    size: 200 + (i % 16000),
    mtimeNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n,
    mode: type === 'dir' ? 0o40755 : 0o100644,
    uid: 1000,
    gid: 1000,
    dev: 2049n,
    ino: BigInt(i + 100),
    rdev: 0n,
    link: null,
    sha256: type === 'file' ? Buffer.alloc(32, i % 251) : null,
    attrDigest: null,
    seq: i + 1,
  };
}

/** The measuring child: one index of `n` files in `dir`; prints its results as JSON. */
async function worker(dir, n, lookups) {
  const { PathIndex } = await import(pathToFileURL(DIST).href);
  const file = path.join(dir, 'index.db');
  const before = rss();
  const idx = PathIndex.open(file);
  let peak = rss();
  let peakHeap = 0;
  const sample = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapTotal);
    return (peak = Math.max(peak, rss()));
  };
  const out = { n, baselineRss: before, steps: {}, rssAt: {} };
  const step = (name, fn) => {
    const t0 = performance.now();
    const count = fn();
    const ms = performance.now() - t0;
    const rssNow = sample();
    globalThis.gc(); // the worker runs with --expose-gc: what JS still holds after the step
    out.steps[name] = { ms, count, rss: rssNow, heapAfterGc: process.memoryUsage().heapUsed };
  };

  step('insert', () => {
    idx.transaction(() => {
      for (let t = 0; t < TOPS; t++) idx.put(Buffer.from(`t${t}`), entry(n + t, 'dir'));
      for (let t = 0; t < TOPS; t++)
        for (let d = 0; d < DIRS; d++)
          idx.put(
            Buffer.from(`t${t}/d${String(d).padStart(3, '0')}`),
            entry(n + 10 + t * DIRS + d, 'dir'),
          );
    });
    const hashes = new BigUint64Array(1);
    for (let i = 0; i < n; i += 10_000) {
      idx.transaction(() => {
        for (let k = i; k < Math.min(n, i + 10_000); k++) {
          hashes[0] = (BigInt(k) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
          idx.put(Buffer.from(fileOf(k, n)), entry(k), { blockSize: 16384, size: 200, hashes });
        }
        idx.setIndexedSeq(Math.min(n, i + 10_000));
      });
      sample();
      for (const f of [0.1, 0.25, 0.5, 0.75, 1]) {
        if (i + 10_000 >= n * f && out.rssAt[f] === undefined) out.rssAt[f] = rss();
      }
    }
    return idx.count();
  });

  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) % n;
  step('get', () => {
    let found = 0;
    for (let k = 0; k < lookups; k++) {
      if (idx.get(Buffer.from(fileOf(rnd(), n)))) found++;
      if ((k & 0xffff) === 0) sample();
    }
    return found;
  });
  step('getBlocks', () => {
    let found = 0;
    for (let k = 0; k < lookups; k++) if (idx.getBlocks(Buffer.from(fileOf(rnd(), n)))) found++;
    return found;
  });
  step('findByInode', () => {
    let found = 0;
    for (let k = 0; k < lookups; k++) found += idx.findByInode(2049n, BigInt(rnd() + 100)).length;
    return found;
  });
  step('update', () => {
    // live changes land anywhere: random files rewritten, 1,000 per transaction
    const hashes = new BigUint64Array(2);
    let done = 0;
    for (let t = 0; t < lookups / 1000; t++) {
      idx.transaction(() => {
        for (let k = 0; k < 1000; k++, done++) {
          const i = rnd();
          hashes[0] = BigInt(done);
          idx.put(Buffer.from(fileOf(i, n)), entry(i), { blockSize: 16384, size: 20000, hashes });
        }
      });
      sample();
    }
    return done;
  });
  const renamed = idx.count(Buffer.from('t3'));
  step('renameTree', () => idx.renameTree(Buffer.from('t3'), Buffer.from('moved/t3'), n + 5000));
  step('iterate', () => {
    let rows = 0;
    for (const r of idx.entries()) {
      if (r.path.length === 0) throw new Error('empty path');
      if ((++rows & 0xffff) === 0) sample();
    }
    return rows;
  });
  step('children', () => [...idx.children(Buffer.from('t1/d042'))].length);
  step('count', () => idx.count());
  step('deleteTree', () => idx.deleteTree(Buffer.from('moved/t3'), n + 5001));
  out.heapTotal = peakHeap;
  idx.close();
  out.renamedEntries = renamed;
  out.peakRss = peak;
  out.vmHwm = vmHwm();
  out.fileBytes = fs.statSync(file).size;
  process.stdout.write(JSON.stringify(out));
}

function runWorker(dir, n, lookups, semiSpace) {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const v8 = semiSpace ? [`--max-semi-space-size=${semiSpace}`] : [];
    const args = [...v8, '--expose-gc', self, '--worker', dir, String(n), String(lookups)];
    const p = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    p.stdout.on('data', (c) => (text += c));
    p.on('exit', (code) =>
      code === 0
        ? resolve({ ...JSON.parse(text), semiSpace })
        : reject(new BenchError(`index worker exited ${code}`)),
    );
  });
}

const mib = (b) => `${(b / MIB).toFixed(1)} MiB`;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const rate = (count, ms) => `${Math.round((count * 1000) / ms).toLocaleString('en-US')}/s`;

function table(results) {
  const label = (r) =>
    `${r.n.toLocaleString('en-US')} files${r.semiSpace ? `, semi-space ${r.semiSpace} MiB` : ''}`;
  const head = `| | ${results.map(label).join(' | ')} |`;
  const sep = `|---|${results.map(() => '---:').join('|')}|`;
  const row = (label, f) => `| ${label} | ${results.map(f).join(' | ')} |`;
  const s = (r, k) => r.steps[k];
  return [
    head,
    sep,
    row(
      'insert in path order (10k per transaction)',
      (r) => `${secs(s(r, 'insert').ms)} (${rate(s(r, 'insert').count, s(r, 'insert').ms)})`,
    ),
    row('entries held', (r) => s(r, 'insert').count.toLocaleString('en-US')),
    row('get by path', (r) => rate(s(r, 'get').count, s(r, 'get').ms)),
    row('put of random files (1k per transaction)', (r) =>
      rate(s(r, 'update').count, s(r, 'update').ms),
    ),
    row('getBlocks by path', (r) => rate(s(r, 'getBlocks').count, s(r, 'getBlocks').ms)),
    row('findByInode', (r) => rate(s(r, 'findByInode').count, s(r, 'findByInode').ms)),
    row(
      'renameTree of one top directory',
      (r) =>
        `${secs(s(r, 'renameTree').ms)} (${s(r, 'renameTree').count.toLocaleString('en-US')} entries)`,
    ),
    row(
      'iterate all in path order',
      (r) => `${secs(s(r, 'iterate').ms)} (${rate(s(r, 'iterate').count, s(r, 'iterate').ms)})`,
    ),
    row(
      'children of a directory',
      (r) => `${s(r, 'children').ms.toFixed(1)} ms (${s(r, 'children').count})`,
    ),
    row('count()', (r) => `${s(r, 'count').ms.toFixed(0)} ms`),
    row('deleteTree of the renamed subtree', (r) => secs(s(r, 'deleteTree').ms)),
    row('index file', (r) => mib(r.fileBytes)),
    row('RSS before opening (Node + modules)', (r) => mib(r.baselineRss)),
    row('RSS at 10% / 50% / 100% inserted', (r) =>
      [0.1, 0.5, 1].map((f) => mib(r.rssAt[f])).join(' / '),
    ),
    row('peak RSS (sampled in the loops)', (r) => mib(r.peakRss)),
    row('peak RSS (VmHWM)', (r) => mib(r.vmHwm)),
    row("index's share (VmHWM − RSS before opening)", (r) => mib(r.vmHwm - r.baselineRss)),
    row('V8 heap reserved, largest (heapTotal: live JS + room for garbage)', (r) =>
      mib(r.heapTotal),
    ),
    row('JS heap in use after GC, largest after any step', (r) =>
      mib(Math.max(...Object.values(r.steps).map((x) => x.heapAfterGc))),
    ),
  ].join('\n');
}

/** The bench: one worker per size, the table, and how busy the machine was. */
export async function run(opts) {
  if (!fs.existsSync(DIST))
    throw new BenchError('dist/ is not built: run `npm run bench -- index`');
  const sizes = opts.sizes.split(',').map(Number);
  const lookups = Number(opts.lookups);
  const results = [];
  const load0 = loadAvg();
  const cpu = cpuWatch([]);
  const semi = Number(opts['semi-space']);
  const runs = sizes.map((n) => [n, 0]);
  if (semi > 0) runs.push([Math.max(...sizes), semi]);
  for (const [n, semiSpace] of runs) {
    const dir = workDir(`index-${n}`);
    try {
      say(
        `index: ${n.toLocaleString('en-US')} files${semiSpace ? `, semi-space ${semiSpace}` : ''}`,
      );
      results.push(await runWorker(dir, n, lookups, semiSpace));
    } finally {
      if (!opts.keep) rmrf(dir);
    }
  }
  const { otherPct } = cpu.end();
  return {
    markdown: `## Index micro-bench

{{stamp}}

\`src/index\` alone (SQLite through better-sqlite3, WAL, synchronous=NORMAL, 16 MiB page cache,
no mmap), one child process per size, file on bench/work's disk. Files are spread over 10 top
directories × 100 directories; each file is stored with a sha256 and a one-block hash list.
${lookups.toLocaleString('en-US')} random look-ups of each kind. No rsync/lsyncd column: nothing
comparable. Other programs used ${otherPct.toFixed(0)}% of the CPU meanwhile (load average
${load0.toFixed(2)} at the start).

${table(results)}

Reading the memory rows: "RSS before opening" is Node with better-sqlite3 loaded. What the index
adds is SQLite's page cache (fixed at 16 MiB) and its statements, plus the room V8 gives
garbage: the loops allocate fast (keys, entry objects, BigInts), so V8 grows its young generation
(up to 16 MiB per semi-space by default) and old space over time, whatever the number of entries —
"JS heap in use after GC" shows nothing is retained. The run with the young generation capped
shows the index's own memory, flat from 10% to 100% of the entries.
`,
  };
}

if (process.argv[2] === '--worker') {
  const [dir, n, lookups] = process.argv.slice(3);
  await worker(dir, Number(n), Number(lookups));
}
