// The systems the benchmarks run side by side: smr (a source and a target daemon on loopback)
// and lsyncd (delay = 0, rsync to a local rsync daemon). Each start function returns
// { tool, label, src, replica, daemons: [{ label, handle }], stop(), setup }.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SMR, freePort, smr, startProcess, toolVersion, waitForPort } from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

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
  const target = startProcess(
    process.execPath,
    [
      ...nodeArgs,
      SMR,
      'target',
      'start',
      '--listen',
      '127.0.0.1:0',
      '--root',
      root,
      '--key-file',
      key,
      '--state-dir',
      tstate,
    ],
    { logFile: path.join(dir, 'target.log'), env },
  );
  const first = await target.waitForLine(/^\{/, { stream: 'out', what: 'listening event' });
  const { port } = JSON.parse(first.line);
  const source = startProcess(
    process.execPath,
    [...nodeArgs, SMR, 'source', 'start', '--state-dir', sstate],
    {
      logFile: path.join(dir, 'source.log'),
      env,
    },
  );
  await source.waitForLine(/"event":"ready"/, { stream: 'out', what: 'ready event' });
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

/** lsyncd with delay = 0 and the rsync transport to a local rsync daemon. */
export async function startLsyncd(dir) {
  const src = path.join(dir, 'src');
  const replica = path.join(dir, 'replica');
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(replica, { recursive: true });
  const port = await freePort();
  const uid = process.getuid();
  const gid = process.getgid();
  const rsyncdConf = path.join(dir, 'rsyncd.conf');
  fs.writeFileSync(
    rsyncdConf,
    [
      `pid file = ${path.join(dir, 'rsyncd.pid')}`,
      `lock file = ${path.join(dir, 'rsyncd.lock')}`,
      `log file = ${path.join(dir, 'rsyncd.log')}`,
      'use chroot = no',
      `uid = ${uid}`,
      `gid = ${gid}`,
      '',
      '[bench]',
      `  path = ${replica}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  const rsyncd = startProcess(
    'rsync',
    ['--daemon', '--no-detach', `--config=${rsyncdConf}`, `--port=${port}`, '--address=127.0.0.1'],
    { logFile: path.join(dir, 'rsyncd.out') },
  );
  await waitForPort('127.0.0.1', port);
  const lsyncdLog = path.join(dir, 'lsyncd.log');
  const lsyncdConf = path.join(dir, 'lsyncd.conf.lua');
  const conf = `settings {
    logfile = ${JSON.stringify(lsyncdLog)},
    nodaemon = true,
    inotifyMode = "CloseWrite or Modify",
}
sync {
    default.rsync,
    source = ${JSON.stringify(src)},
    target = "rsync://127.0.0.1:${port}/bench/",
    delay = 0,
    rsync = {
        archive = true,
    },
}
`;
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
    setup: `lsyncd config:\n\n\`\`\`lua\n${conf.replaceAll(dir, '$WORK')}\`\`\`\n\nrsync daemon: \`rsync --daemon --no-detach --config=rsyncd.conf --port=PORT --address=127.0.0.1\`, module \`[bench]\` with \`use chroot = no\`, \`read only = no\`, uid/gid ${uid}/${gid}.`,
    async stop() {
      await lsyncd.stop();
      await rsyncd.stop();
    },
  };
}
