// FUSE helpers for the write-interception prototype: libfuse's own passthrough examples (C, built
// from libfuse3-dev's examples, never committed), and the Node passthrough (node-passthrough.mjs on
// fuse-napi), mounted over a backing directory; and what an application sees when the FUSE daemon
// dies or stops under it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { delay } from '../../bench/common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = '/usr/share/doc/libfuse3-dev/examples';

/** Builds the synced writer and libfuse's passthrough_ll example into `dir`; returns their paths. */
export function buildTools(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const cc = (out, srcs, libs) => {
    const r = spawnSync('cc', ['-O2', '-o', path.join(dir, out), ...srcs, ...libs], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`building ${out} failed: ${r.stderr}`);
    return path.join(dir, out);
  };
  const tools = {
    writer: cc('synced-writer', [path.join(HERE, 'synced-writer.c')], ['-lsqlite3']),
  };
  const fuse = spawnSync('pkg-config', ['fuse3', '--cflags', '--libs'], { encoding: 'utf8' });
  if (fuse.status === 0 && fs.existsSync(path.join(EXAMPLES, 'passthrough_ll.c'))) {
    // Only the low-level example: the high-level passthrough.c answers fsync with a stub (it
    // syncs nothing), so its numbers would not be comparable.
    fs.copyFileSync(path.join(EXAMPLES, 'passthrough_ll.c'), path.join(dir, 'passthrough_ll.c'));
    const flags = fuse.stdout.trim().split(/\s+/);
    tools.passthroughLl = cc('passthrough_ll', [path.join(dir, 'passthrough_ll.c')], flags);
  }
  return tools;
}

/** The directory holding node_modules/fuse-napi (installed there on first use), or null. */
export function nodeFuse(dir) {
  const have = () => fs.existsSync(path.join(dir, 'node_modules', 'fuse-napi', 'package.json'));
  if (!have()) {
    fs.mkdirSync(dir, { recursive: true });
    spawnSync(
      'npm',
      ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', 'fuse-napi@2'],
      {
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
  }
  return have() ? dir : null;
}

/**
 * Mounts a passthrough of `backing` on `mnt`: kind 'll' (libfuse's C example) | 'node' |
 * 'node-journal'. Returns { pid, proc, appDir (where the application writes), unmount() }.
 */
export async function mountPassthrough(kind, tools, backing, mnt, journal) {
  fs.mkdirSync(backing, { recursive: true });
  fs.mkdirSync(mnt, { recursive: true });
  let proc;
  const appDir = mnt;
  if (kind === 'll') proc = spawn(tools.passthroughLl, ['-f', '-o', `source=${backing}`, mnt]);
  else {
    const args = [path.join(HERE, 'node-passthrough.mjs'), tools.nodeFuse, backing, mnt];
    if (kind === 'node-journal') args.push(journal);
    proc = spawn(process.execPath, args);
  }
  proc.stderr.on('data', () => undefined);
  proc.stdout.on('data', () => undefined);
  for (let i = 0; i < 200; i++) {
    if (isFuseMount(mnt)) break;
    if (proc.exitCode !== null) throw new Error(`${kind} passthrough exited (${proc.exitCode})`);
    await delay(25);
  }
  if (!isFuseMount(mnt)) throw new Error(`${kind} passthrough did not mount ${mnt}`);
  return {
    pid: proc.pid,
    proc,
    appDir,
    async unmount() {
      spawnSync('fusermount3', ['-u', mnt]);
      if (isFuseMount(mnt)) spawnSync('umount', ['-l', mnt]);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
    },
  };
}

function isFuseMount(mnt) {
  const abs = path.resolve(mnt);
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === abs && l.split(' ')[2].startsWith('fuse'));
}

/** The scheduler state of `pid` ('R', 'S', 'D', ...) or null when gone. */
function procState(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/**
 * The FUSE daemon dies under a writer: `acked` appends n + fdatasync and prints n once synced.
 * stop = true first SIGSTOPs the daemon for 3 s (a hung daemon), then kills it. Returns what the
 * writer saw and whether every acknowledged record is in the backing file.
 */
export async function daemonDeath(kind, tools, work, { stop }) {
  const backing = path.join(work, `death-${kind}${stop ? '-stop' : ''}`);
  const mnt = `${backing}.mnt`;
  const m = await mountPassthrough(kind, tools, backing, mnt, `${backing}.journal`);
  const w = spawn(tools.writer, ['acked', m.appDir, '30']);
  let acked = 0;
  let error = null;
  readline.createInterface({ input: w.stdout }).on('line', (l) => {
    if (/^\d+$/.test(l)) acked = Number(l);
    else error = l;
  });
  const exited = new Promise((r) => w.once('exit', (code, sig) => r({ code, sig })));
  await delay(1500);
  let whileStopped = null;
  if (stop) {
    process.kill(m.pid, 'SIGSTOP');
    // Acknowledgements already in the pipe are read first; only later ones count.
    await delay(500);
    const before = acked;
    await delay(3000);
    whileStopped = { state: procState(w.pid), ackedDuringStop: acked - before };
  }
  const killedAt = Date.now();
  process.kill(m.pid, 'SIGKILL');
  const res = await Promise.race([exited, delay(10_000).then(() => null)]);
  const hung = res === null;
  const writerState = hung ? procState(w.pid) : null;
  if (hung) w.kill('SIGKILL');
  const afterMs = hung ? null : Date.now() - killedAt;
  await m.unmount();
  await new Promise((r) =>
    w.exitCode !== null || w.signalCode !== null ? r() : w.once('exit', r),
  );
  const lines = fs
    .readFileSync(path.join(backing, 'acked.log'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const missing = acked - lines.filter((l, i) => Number(l) === i + 1).length;
  return {
    kind,
    stop,
    acked,
    error,
    hung,
    writerState,
    afterMs,
    whileStopped,
    lostAcked: Math.max(0, missing),
  };
}
