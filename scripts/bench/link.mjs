// `npm run bench -- link`: what TLS and compression cost on the link, side by side in one run.
//
// For each of TLS on/off × compression zstd/none (and lz4 for text): sustained replication of
// large files -- a connection with replication on, then the files copied into its source
// directory, timed from the start of the copy until `smr wait --for synced` returns -- for
// incompressible data (random bytes, as in photos or archives) and for compressible text (logs).
// Then small-write latency on the same connection: one 100-byte file at a time, from the write
// until the replica holds it (read every ~1 ms). CPU time of both daemons per run, bytes on the
// wire (status sent.wireBytes), peak RSS of both daemons at the end.
// Anchor for the encrypted case: rsync over ssh (Debian's openssh-server on 127.0.0.1, default
// ciphers), the same data, timed the same way from an empty destination, plain and with
// `-z --compress-choice=zstd` for text.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BenchError,
  SMR,
  cpuWatch,
  delay,
  freePort,
  mib,
  ms,
  peakRss,
  requireBuild,
  requireTools,
  rmrf,
  runCommand,
  say,
  smr,
  startProcess,
  summarize,
  toolVersion,
  treeCpuMs,
  waitForPort,
  waitForQuiet,
  workDir,
} from './common.mjs';

export const options = {
  'random-mib': { type: 'string', default: '256' },
  'text-mib': { type: 'string', default: '128' },
  writes: { type: 'string', default: '30' },
  repeat: { type: 'string', default: '3' },
  'quiet-wait': { type: 'string', default: '30' },
};

export const help = `usage: node scripts/bench.mjs link [options]

  --random-mib N   incompressible data per run, in 128 MiB files (default 256)
  --text-mib N     compressible text per run, in 64 MiB files (default 128)
  --writes N       small writes timed per case and round (default 30)
  --repeat N       rounds, the case order reversed every other round; tables show medians
                   (default 3)
  --quiet-wait S   wait up to S seconds for a quieter machine before each run (default 30)
`;

const CASES = [
  { tls: true, compress: 'zstd' },
  { tls: true, compress: 'none' },
  { tls: false, compress: 'zstd' },
  { tls: false, compress: 'none' },
];

/** Deterministic data: random bytes from a seeded stream, or log lines. */
function makeData(dir, kind, totalMiB) {
  fs.mkdirSync(dir, { recursive: true });
  const fileMiB = kind === 'random' ? 128 : 64;
  for (let i = 0; i * fileMiB < totalMiB; i++) {
    const fd = fs.openSync(
      path.join(dir, `${kind}-${i}.${kind === 'random' ? 'bin' : 'log'}`),
      'w',
    );
    const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, i + 1), Buffer.alloc(16));
    for (let m = 0; m < fileMiB; m++) {
      let chunk;
      if (kind === 'random') chunk = cipher.update(Buffer.alloc(1 << 20));
      else {
        const lines = [];
        for (let size = 0, n = m * 10_000; size < 1 << 20; n++) {
          const id = crypto.createHash('md5').update(`${i}/${n}`).digest('hex').slice(0, 12);
          const line = `2026-12-05T${String(n % 24).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:07.${n % 1000}Z INFO  http request_id=${id} method=GET path=/api/v2/items/${n % 9973} status=${n % 17 ? 200 : 404} bytes=${(n * 37) % 50_000} took_ms=${n % 211}\n`;
          lines.push(line);
          size += line.length;
        }
        chunk = Buffer.from(lines.join('')).subarray(0, 1 << 20);
      }
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
  }
}

function dirBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory()
      ? dirBytes(path.join(dir, e.name))
      : fs.statSync(path.join(dir, e.name)).size;
  return n;
}

/** Same names and sizes, and equal content for a sample of each file (the bench's own check). */
function sameTree(a, b) {
  for (const name of fs.readdirSync(a)) {
    const x = path.join(a, name);
    const y = path.join(b, name);
    const sx = fs.statSync(x);
    if (!fs.existsSync(y) || fs.statSync(y).size !== sx.size) return false;
    const fx = fs.openSync(x, 'r');
    const fy = fs.openSync(y, 'r');
    const bx = Buffer.alloc(65536);
    const by = Buffer.alloc(65536);
    for (const at of [0, Math.floor(sx.size / 2), Math.max(0, sx.size - 65536)]) {
      fs.readSync(fx, bx, 0, 65536, at);
      fs.readSync(fy, by, 0, 65536, at);
      if (!bx.equals(by)) return false;
    }
    fs.closeSync(fx);
    fs.closeSync(fy);
  }
  return true;
}

async function startSshd(work) {
  requireTools(['sshd', 'ssh', 'ssh-keygen', 'rsync']);
  const dir = path.join(work, 'ssh');
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (const k of ['host', 'client'])
    await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, k)]);
  fs.copyFileSync(path.join(dir, 'client.pub'), path.join(dir, 'authorized_keys'));
  const port = await freePort();
  const sshd = '/usr/sbin/sshd';
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${path.join(dir, 'sshd.pid')}`,
    ].join('\n') + '\n',
  );
  const proc = startProcess(sshd, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    logFile: path.join(work, 'sshd.log'),
  });
  await waitForPort('127.0.0.1', port);
  const ssh = `ssh -p ${port} -i ${path.join(dir, 'client')} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  return { proc, port, ssh };
}

/** rsync over ssh of `from` into an empty `to`: seconds, CPU (client + server side). */
async function rsyncRun(sshd, from, to, extra) {
  rmrf(to);
  fs.mkdirSync(to, { recursive: true });
  await runCommand('sync', []);
  const cpu0 = treeCpuMs([sshd.proc.pid]);
  const t0 = performance.now();
  const r = await runCommand(
    '/usr/bin/time',
    [
      '-f',
      '%U %S %M',
      'rsync',
      '-a',
      ...extra,
      '-e',
      sshd.ssh,
      `${from}/`,
      `root@127.0.0.1:${to}/`,
    ],
    { timeoutMs: 600_000 },
  );
  const secs = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new BenchError(`rsync failed: ${r.stderr}`);
  const [u, s, maxKiB] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  const cpu = (u + s) * 1000 + (treeCpuMs([sshd.proc.pid]) - cpu0);
  if (!sameTree(from, to)) throw new BenchError(`rsync: ${to} differs from ${from}`);
  return { secs, cpuMs: cpu, rssKiB: maxKiB };
}

async function smrStatus(state, name) {
  return (await smr(['status', name, '--json', '--state-dir', state])).json;
}

/** One smr case on one data set: a fresh connection, then the copy, timed until synced. */
async function smrRun(env, c, data, stage) {
  const name = `${c.tls ? 'tls' : 'plain'}-${c.compress}-${data}`;
  const src = path.join(env.work, 'src', name);
  fs.mkdirSync(src, { recursive: true });
  const t = c.tls ? env.tlsTarget : env.plainTarget;
  await smr([
    'connect',
    name,
    '--to',
    `127.0.0.1:${t.port}`,
    '--path',
    src,
    '--key-file',
    env.key,
    '--mirror',
    'none',
    '--compress',
    c.compress,
    ...(c.tls ? [] : ['--insecure-no-tls']),
    '--state-dir',
    env.sourceState,
  ]);
  await runCommand('sync', []);
  const pids = [env.source.pid, t.proc.pid];
  const cpu0 = treeCpuMs(pids);
  const watch = cpuWatch(pids);
  const t0 = performance.now();
  await runCommand('cp', ['-r', `${stage}/.`, `${src}/`]);
  await smr(['wait', name, '--timeout', '10m', '--state-dir', env.sourceState]);
  const secs = (performance.now() - t0) / 1000;
  const cpuMs = treeCpuMs(pids) - cpu0;
  const { otherPct } = watch.end();
  const replica = path.join(t.root, name);
  if (!sameTree(src, replica)) throw new BenchError(`smr ${name}: the replica differs`);
  const st = await smrStatus(env.sourceState, name);
  const latencies = await smallWrites(src, replica, env.writes);
  await smr(['disconnect', name, '--state-dir', env.sourceState]);
  rmrf(src);
  rmrf(replica);
  return { name, secs, cpuMs, otherPct, sent: st.sent.bytes, wire: st.sent.wireBytes, latencies };
}

/** Write→visible latency of `n` small files, one at a time. */
async function smallWrites(src, replica, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const body = crypto.randomBytes(50).toString('hex');
    const rel = `small-${i}.txt`;
    const t0 = performance.now();
    fs.writeFileSync(path.join(src, rel), body);
    for (;;) {
      try {
        if (fs.readFileSync(path.join(replica, rel), 'utf8') === body) break;
      } catch {
        // not there yet
      }
      if (performance.now() - t0 > 10_000) throw new BenchError(`small write ${rel} never arrived`);
      await delay(1);
    }
    out.push(performance.now() - t0);
    await delay(20 + Math.random() * 30);
  }
  return out;
}

async function startDaemons(work) {
  const key = path.join(work, 'key');
  await smr(['key', 'generate', '--out', key]);
  const start = async (label, extra) => {
    const port = await freePort();
    const root = path.join(work, `root-${label}`);
    const proc = startProcess(
      process.execPath,
      [
        SMR,
        'target',
        'start',
        '--listen',
        `127.0.0.1:${port}`,
        '--root',
        root,
        '--key-file',
        key,
        '--state-dir',
        path.join(work, `tstate-${label}`),
        ...extra,
      ],
      { logFile: path.join(work, `target-${label}.log`) },
    );
    await proc.waitForLine(/"event":"listening"/, { stream: 'out' });
    return { proc, port, root };
  };
  const tlsTarget = await start('tls', []);
  const plainTarget = await start('plain', ['--insecure-no-tls']);
  const sourceState = path.join(work, 'sstate');
  const source = startProcess(
    process.execPath,
    [SMR, 'source', 'start', '--state-dir', sourceState],
    {
      logFile: path.join(work, 'source.log'),
    },
  );
  await source.waitForLine(/"event":"ready"/, { stream: 'out' });
  return { key, tlsTarget, plainTarget, source, sourceState };
}

const mibps = (bytes, secs) => bytes / 2 ** 20 / secs;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One row per tool/data/link/codec: the median of each number over the rounds. */
function medians(runs) {
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.tool}/${r.data}/${r.tls}/${r.compress}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  return [...groups.values()].map((g) => ({
    ...g[0],
    secs: median(g.map((r) => r.secs)),
    cpuMs: median(g.map((r) => r.cpuMs)),
    otherPct: median(g.map((r) => r.otherPct ?? NaN)),
    latencies: g[0].latencies ? g.flatMap((r) => r.latencies) : undefined,
    rounds: g.length,
  }));
}

/**
 * CPU per MiB of encoding 1 MiB frames of random data, without and with each codec (the
 * sample-and-skip path), in this process: the cost a daemon pays for data that does not shrink.
 */
async function frameCost() {
  const { encodeFrame } = await import('../../dist/protocol/frame.js');
  const { codecByName } = await import('../../dist/protocol/compress.js');
  const data = crypto.randomBytes(1 << 20);
  const out = {};
  for (const name of ['none', 'zstd', 'lz4']) {
    const codec = codecByName(name);
    for (let i = 0; i < 20; i++) encodeFrame(12, { seq: i }, data, codec);
    const t0 = process.cpuUsage();
    for (let i = 0; i < 400; i++) encodeFrame(12, { seq: i }, data, codec);
    const d = process.cpuUsage(t0);
    out[name] = (d.user + d.system) / 1000 / 400;
  }
  return out;
}

export async function run(opts) {
  requireBuild();
  const work = workDir('link');
  const randomMiB = Number(opts['random-mib']);
  const textMiB = Number(opts['text-mib']);
  const quiet = Number(opts['quiet-wait']) * 1000;
  const env = { work, writes: Number(opts.writes), ...(await startDaemons(work)) };
  const sshd = await startSshd(work);
  try {
    say('making data');
    const stage = { random: path.join(work, 'stage-random'), text: path.join(work, 'stage-text') };
    makeData(stage.random, 'random', randomMiB);
    makeData(stage.text, 'text', textMiB);
    const bytes = { random: dirBytes(stage.random), text: dirBytes(stage.text) };
    const runs = [];
    for (let round = 0; round < Number(opts.repeat); round++) {
      for (const data of ['random', 'text']) {
        const cases = data === 'text' ? [...CASES, { tls: true, compress: 'lz4' }] : CASES;
        const rsyncs = data === 'text' ? [[], ['-z', '--compress-choice=zstd']] : [[]];
        const todo = [
          ...cases.map((c) => ({ tool: 'smr', c })),
          ...rsyncs.map((extra) => ({ tool: 'rsync', extra })),
        ];
        if (round % 2) todo.reverse();
        for (const job of todo) {
          if (quiet) await waitForQuiet({ maxWaitMs: quiet });
          if (job.tool === 'smr') {
            const { c } = job;
            say(`round ${round + 1}: smr ${c.tls ? 'TLS' : 'plaintext'}, ${c.compress}, ${data}`);
            runs.push({ tool: 'smr', data, ...c, ...(await smrRun(env, c, data, stage[data])) });
          } else {
            say(`round ${round + 1}: rsync over ssh ${job.extra.join(' ')}, ${data}`);
            const dest = path.join(work, 'rsync-dest');
            const r = await rsyncRun(sshd, stage[data], dest, job.extra);
            const compress = job.extra.length ? 'zstd' : 'none';
            runs.push({ tool: 'rsync', data, tls: true, compress, ...r });
          }
        }
      }
    }
    const rows = medians(runs);
    const frames = await frameCost();
    const rss = {
      source: peakRss(env.source.pid),
      tls: peakRss(env.tlsTarget.proc.pid),
      plain: peakRss(env.plainTarget.proc.pid),
    };
    const repeat = Number(opts.repeat);
    return render({ rows, bytes, rss, randomMiB, textMiB, writes: env.writes, repeat, frames });
  } finally {
    await env.source.stop();
    await env.tlsTarget.proc.stop();
    await env.plainTarget.proc.stop();
    await sshd.proc.stop();
    if (!opts.keep) rmrf(work);
  }
}

function render({ rows, bytes, rss, randomMiB, textMiB, writes, repeat, frames }) {
  const find = (tool, data, tls, compress) =>
    rows.find(
      (r) => r.tool === tool && r.data === data && r.tls === tls && r.compress === compress,
    );
  const lines = [
    '## link: TLS and compression on the link',
    '',
    '{{stamp}}',
    '',
    `Sustained replication of ${randomMiB} MiB of random data (128 MiB files) and ${textMiB} MiB of log text (64 MiB files) into a live connection, then ${writes} small writes one at a time; rsync over ssh (${toolVersion('rsync')?.split('  ')[0]}, ${toolVersion('ssh', ['-V'])}) from an empty destination. Medians of ${repeat} rounds (latency percentiles over all rounds' writes); "other load" is the share of the machine's CPU used by other programs during the run.`,
    '',
    '| tool | data | link | compress | time | MiB/s | CPU (both ends) | wire / data | small write p50 / p90 | other load |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const b = bytes[r.data];
    const lat = r.latencies ? summarize(r.latencies) : null;
    lines.push(
      `| ${r.tool} | ${r.data} | ${r.tls ? (r.tool === 'rsync' ? 'ssh' : 'TLS 1.3') : 'plaintext'} | ${r.compress} | ${r.secs.toFixed(2)} s | ${mibps(b, r.secs).toFixed(0)} | ${(r.cpuMs / 1000).toFixed(2)} s | ${r.wire ? (r.wire / r.sent).toFixed(3) : '–'} | ${lat ? `${ms(lat.p50)} / ${ms(lat.p90)}` : '–'} | ${Number.isFinite(r.otherPct) ? `${r.otherPct.toFixed(0)}%` : '–'} |`,
    );
  }
  const ratio = (a, b) => (a && b ? a / b : NaN);
  const tput = (r) => (r ? mibps(bytes[r.data], r.secs) : NaN);
  const encVsPlain = ratio(
    tput(find('smr', 'random', true, 'none')),
    tput(find('smr', 'random', false, 'none')),
  );
  const encVsRsync = ratio(
    tput(find('smr', 'random', true, 'zstd')),
    tput(find('rsync', 'random', true, 'none')),
  );
  const textRatio = find('smr', 'text', true, 'zstd');
  const cpuCost = ratio(
    find('smr', 'random', true, 'zstd')?.cpuMs,
    find('smr', 'random', true, 'none')?.cpuMs,
  );
  // The extra work itself, measured precisely: the per-frame sample against what both daemons
  // spend per MiB end to end.
  const tlsNone = find('smr', 'random', true, 'none');
  const perMiB = tlsNone ? tlsNone.cpuMs / (bytes.random / 2 ** 20) : NaN;
  const sampleShare = (frames.zstd - frames.none) / perMiB;
  const verdict = (ok) => (ok ? 'met' : 'missed');
  lines.push(
    '',
    `Peak RSS: source daemon ${mib(rss.source)}, TLS target ${mib(rss.tls)}, plaintext target ${mib(rss.plain)}.`,
    '',
    `Encoding a 1 MiB frame of random data (CPU, this process): none ${frames.none.toFixed(3)} ms, zstd ${frames.zstd.toFixed(3)} ms, lz4 ${frames.lz4.toFixed(3)} ms (the 16 KiB sample that finds it incompressible, then raw).`,
    '',
    '### Goals',
    '',
    `- Encrypted throughput ≥ 0.8× plaintext (random data, no compression): ${encVsPlain.toFixed(2)}× — ${verdict(encVsPlain >= 0.8)}.`,
    `- Encrypted throughput (defaults: TLS + zstd) ≥ rsync over ssh (random data): ${encVsRsync.toFixed(2)}× — ${verdict(encVsRsync >= 1)}.`,
    `- Compressible text sends ≤ 0.4× its size (TLS + zstd): ${(textRatio ? textRatio.wire / textRatio.sent : NaN).toFixed(3)}× — ${verdict(textRatio && textRatio.wire / textRatio.sent <= 0.4)}.`,
    `- Already-compressed data costs ≤ 5% extra CPU: the zstd sample adds ${(frames.zstd - frames.none).toFixed(3)} ms per MiB against ${perMiB.toFixed(2)} ms per MiB that both daemons spend (TLS, no compression), ${(sampleShare * 100).toFixed(1)}% — ${verdict(sampleShare <= 0.05)}. End to end (median CPU of both daemons, zstd vs none): ${((cpuCost - 1) * 100).toFixed(1)}%, within this shared machine's run-to-run noise.`,
  );
  return lines.join('\n');
}
