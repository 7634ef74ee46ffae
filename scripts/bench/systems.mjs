// The systems the benchmarks run side by side: smr (a source and a target daemon on loopback)
// and lsyncd (delay = 0, rsync to a local rsync daemon). Each start function returns
// { tool, label, src, replica, daemons: [{ label, handle }], stop(), setup }.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SMR, freePort, smr, startProcess, toolVersion, waitForPort } from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * An smr target daemon on a free loopback port, once it is listening: { target, port }.
 * `nodeArgs` go before bin/smr.js (--cpu-prof is refused in NODE_OPTIONS); `bin` may name another
 * build (the mirror bench's --smr-root).
 */
export async function startSmrTarget({ root, key, state, logFile, nodeArgs = [], env, bin = SMR }) {
  const args = ['target', 'start', '--listen', '127.0.0.1:0', '--root', root, '--key-file', key];
  const target = startProcess(process.execPath, [...nodeArgs, bin, ...args, '--state-dir', state], {
    logFile,
    env,
  });
  const first = await target.waitForLine(/^\{/, { stream: 'out', what: 'listening event' });
  return { target, port: JSON.parse(first.line).port };
}

/** An smr source daemon, started (the caller waits for its ready event: a restart times it). */
export function spawnSmrSource({ state, logFile, nodeArgs = [], env, bin = SMR }) {
  const args = [...nodeArgs, bin, 'source', 'start', '--state-dir', state];
  return startProcess(process.execPath, args, { logFile, env });
}

/** Waits for a source daemon's ready event. */
export function sourceReady(source, timeoutMs) {
  return source.waitForLine(/"event":"ready"/, { stream: 'out', what: 'ready event', timeoutMs });
}

/** smr: a target and a source daemon, one connection `bench` with --mirror none. */
export async function startSmr(dir, version, trace, cpuProf) {
  // Daemons run as `node [NODE_ARGS] bin/smr.js ...` (--cpu-prof is refused in NODE_OPTIONS).
  const nodeArgs = [];
  if (trace) nodeArgs.push(`--import=${pathToFileURL(path.join(HERE, 'trace-preload.mjs')).href}`);
  if (cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'prof')}`);
  const env = trace ? { SMR_BENCH_TRACE: path.join(dir, 'trace') } : {};
  const key = path.join(dir, 'key');
  const root = path.join(dir, 'target-root');
  const src = path.join(dir, 'src');
  const sstate = path.join(dir, 'source-state');
  const tstate = path.join(dir, 'target-state');
  fs.mkdirSync(src, { recursive: true });
  await smr(['key', 'generate', '--out', key]);
  const { target, port } = await startSmrTarget({
    root,
    key,
    state: tstate,
    logFile: path.join(dir, 'target.log'),
    nodeArgs,
    env,
  });
  const source = spawnSmrSource({
    state: sstate,
    logFile: path.join(dir, 'source.log'),
    nodeArgs,
    env,
  });
  await sourceReady(source);
  const to = `127.0.0.1:${port}`;
  await smr([
    'connect',
    'bench',
    '--to',
    to,
    '--path',
    src,
    '--key-file',
    key,
    '--mirror',
    'none',
    '--state-dir',
    sstate,
    '--json',
  ]);
  await smr(['wait', 'bench', '--timeout', '60s', '--state-dir', sstate, '--json']);
  return {
    tool: 'smr',
    label: `smr ${version}`,
    src,
    replica: path.join(root, 'bench'),
    dir,
    port,
    sourceState: sstate,
    targetState: tstate,
    daemons: [
      { label: 'source', handle: source },
      { label: 'target', handle: target },
    ],
    setup:
      `\`smr target start --listen 127.0.0.1:0 --root R --key-file K\`, \`smr source start\`, ` +
      `\`smr connect bench --to 127.0.0.1:PORT --path SRC --mirror none\` (defaults otherwise: ` +
      `journal group commit, fsync'd applied seq and acks)`,
    async stop() {
      await source.stop();
      await target.stop();
    },
  };
}

/**
 * An rsync daemon on loopback serving `root` as module `[bench]` (no chroot, writable, as this
 * user): the far end of lsyncd's and of the benches' own rsync runs.
 */
export async function startRsyncDaemon(dir, root) {
  fs.mkdirSync(root, { recursive: true });
  const port = await freePort();
  const [uid, gid] = [process.getuid(), process.getgid()];
  const conf = path.join(dir, 'rsyncd.conf');
  fs.writeFileSync(
    conf,
    [
      `pid file = ${path.join(dir, 'rsyncd.pid')}`,
      `lock file = ${path.join(dir, 'rsyncd.lock')}`,
      `log file = ${path.join(dir, 'rsyncd.log')}`,
      'use chroot = no',
      `uid = ${uid}`,
      `gid = ${gid}`,
      '',
      '[bench]',
      `  path = ${root}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  const handle = startProcess(
    'rsync',
    ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1'],
    { logFile: path.join(dir, 'rsyncd.out') },
  );
  await waitForPort('127.0.0.1', port);
  const setup = `rsync daemon: \`rsync --daemon --no-detach --config=rsyncd.conf --port=PORT --address=127.0.0.1\`, module \`[bench]\` with \`use chroot = no\`, \`read only = no\`, uid/gid ${uid}/${gid}.`;
  return { handle, port, root, setup };
}

/** lsyncd's config: default.rsync with delay = 0, archive mode, from `source` to `target`. */
export function lsyncdConfig({ log, source, target, settings = '' }) {
  return `settings {
    logfile = ${JSON.stringify(log)},
    nodaemon = true,
    inotifyMode = "CloseWrite or Modify",${settings}
}
sync {
    default.rsync,
    source = ${JSON.stringify(source)},
    target = ${JSON.stringify(target)},
    delay = 0,
    rsync = {
        archive = true,
    },
}
`;
}

/** lsyncd with delay = 0 and the rsync transport to a local rsync daemon. */
export async function startLsyncd(dir) {
  const src = path.join(dir, 'src');
  const replica = path.join(dir, 'replica');
  fs.mkdirSync(src, { recursive: true });
  const rs = await startRsyncDaemon(dir, replica);
  const rsyncd = rs.handle;
  const lsyncdLog = path.join(dir, 'lsyncd.log');
  const lsyncdConf = path.join(dir, 'lsyncd.conf.lua');
  const conf = lsyncdConfig({
    log: lsyncdLog,
    source: src,
    target: `rsync://127.0.0.1:${rs.port}/bench/`,
  });
  fs.writeFileSync(lsyncdConf, conf);
  const lsyncd = startProcess('lsyncd', ['-nodaemon', lsyncdConf], {
    logFile: path.join(dir, 'lsyncd.out'),
  });
  // "Normal: Startup of "<src>/" finished." once the initial recursive rsync is done.
  await lsyncd.waitForLine(/Startup of .* finished/, { what: 'startup sync', timeoutMs: 60_000 });
  return {
    tool: 'lsyncd',
    label: `lsyncd ${toolVersion('lsyncd', ['--version'])?.replace(/^Version:\s*/, '') ?? '?'}`,
    src,
    replica,
    daemons: [
      { label: 'lsyncd', handle: lsyncd },
      { label: 'rsync daemon', handle: rsyncd },
    ],
    setup: `lsyncd config:\n\n\`\`\`lua\n${conf.replaceAll(dir, '$WORK')}\`\`\`\n\n${rs.setup}`,
    async stop() {
      await lsyncd.stop();
      await rsyncd.stop();
    },
  };
}
