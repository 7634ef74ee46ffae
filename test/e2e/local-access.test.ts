// Local access: a second local user (nobody, via setpriv) can neither drive a daemon nor pose as
// one, the control socket stays in the state dir whatever its path length, and the state dir,
// the queue and the key file are the owner's alone (0700/0600), whatever the umask.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SMR,
  cleanupAll,
  connect,
  onCleanup,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const NOBODY = 65534;
const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

/** Runs `smr ...args` as nobody; resolves to the exit code and output. */
function smrAsNobody(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('setpriv', [...AS_NOBODY, process.execPath, SMR, ...args], {
      cwd: '/',
      env: { ...process.env, HOME: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * Another user's fake daemon: nobody binds a unix socket at `sockPath` and answers every request
 * as a daemon would, logging each connection to `logFile`. Resolves once it listens.
 */
async function fakeDaemon(sockPath: string, logFile: string): Promise<ChildProcess> {
  const script = `
    const net = require('node:net'), fs = require('node:fs');
    const [sock, log] = process.argv.slice(1);
    net.createServer((c) => {
      fs.appendFileSync(log, 'connection\\n');
      c.on('data', (d) => fs.appendFileSync(log, d));
      c.end(JSON.stringify({ id: 1, result: { connections: [] } }) + '\\n');
    }).listen(sock, () => console.log('ready'));`;
  const p = spawn('setpriv', [...AS_NOBODY, process.execPath, '-e', script, sockPath, logFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(async () => void p.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    readline
      .createInterface({ input: p.stdout as NodeJS.ReadableStream })
      .once('line', () => resolve());
    p.once('exit', (code) => reject(new Error(`fake daemon exited ${code}`)));
  });
  return p;
}

/** A directory nobody may write in (for its sockets and logs). */
async function nobodysDir(): Promise<string> {
  const d = await tmp('smr-nobody-');
  await fsp.chmod(d, 0o777);
  return d;
}

const modeOf = async (p: string): Promise<number> => (await fsp.lstat(p)).mode & 0o777;

describe('a second local user', () => {
  it('cannot drive a daemon through its control socket', async () => {
    const t = await startTarget();
    const state = await tmp('smr-sstate-');
    await fsp.chmod(state, 0o755); // made by hand, readable by all: the daemon tightens it
    const s = await startSource(state);
    expect(await modeOf(state)).toBe(0o700);
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    for (const args of [
      ['disconnect', 'web', '--state-dir', state],
      ['queue-task', 'web', '--state-dir', state, '--', 'true'],
      ['status', 'web', '--state-dir', state],
    ]) {
      const r = await smrAsNobody(args);
      expect(r.code, `${args.join(' ')}: ${r.out}`).toBe(7);
      expect(r.out).toMatch(/permission denied/);
    }
    // Even with the state dir opened up by its owner, the socket itself is the owner's (0600).
    await fsp.chmod(state, 0o755);
    expect(await modeOf(path.join(state, 'source.sock'))).toBe(0o600);
    const r = await smrAsNobody(['disconnect', 'web', '--state-dir', state]);
    expect(r.code, r.out).toBe(7);
    const st = await smr(['status', 'web', '--json', '--state-dir', state]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.json.name).toBe('web');
  });

  it('cannot pose as a daemon: the socket never leaves the state dir, and its owner is checked', async () => {
    // A state dir whose socket path is longer than a socket address (108 bytes).
    const parent = await tmp('smr-long-');
    const state = path.join(parent, 'x'.repeat(120));
    // Where smr used to fall back to: a name in the shared temp dir that anyone can compute.
    const legacy = path.join(
      os.tmpdir(),
      `smr-source-${crypto.createHash('sha256').update(state).digest('hex').slice(0, 16)}.sock`,
    );
    const logs = await nobodysDir();
    const seen = path.join(logs, 'legacy.log');
    await fsp.rm(legacy, { force: true });
    await fakeDaemon(legacy, seen);
    onCleanup(() => fsp.rm(legacy, { force: true }));

    const before = await smr(['status', '--json', '--state-dir', state]);
    expect(before.code, before.stdout + before.stderr).toBe(3); // no daemon, and no impostor
    const s = await startSource(state);
    const st = await smr(['status', '--json', '--state-dir', state]);
    expect(st.code, st.stderr).toBe(0);
    expect((await fsp.lstat(path.join(state, 'source.sock'))).isSocket()).toBe(true);
    await s.stop();
    expect(await fsp.readFile(seen, 'utf8').catch(() => '')).toBe('');

    // A socket in a state dir that another user owns: refused before a byte is written.
    const theirs = path.join(logs, 'state');
    const theirLog = path.join(logs, 'theirs.log');
    await fsp.mkdir(theirs, { mode: 0o700 });
    await fsp.chown(theirs, NOBODY, NOBODY);
    await fakeDaemon(path.join(theirs, 'source.sock'), theirLog);
    const r1 = await smr(['status', '--json', '--state-dir', theirs]);
    expect(r1.code, r1.stdout + r1.stderr).toBe(7);
    expect(r1.json.error.message).toMatch(/not this user's/);
    // Our own state dir, with their socket in it (moved there): refused by the socket's owner.
    const ours = await tmp('smr-ours-');
    const planted = path.join(logs, 'planted.sock');
    await fakeDaemon(planted, theirLog);
    await fsp.rename(planted, path.join(ours, 'source.sock'));
    const r2 = await smr(['status', '--json', '--state-dir', ours]);
    expect(r2.code, r2.stdout + r2.stderr).toBe(7);
    expect(r2.json.error.message).toMatch(/belongs to uid 65534/);
    expect(await fsp.readFile(theirLog, 'utf8').catch(() => '')).toBe('');
  });
});

describe('owner-only files', () => {
  it('state dir, queue and key are 0700/0600 under umask 000; a loose key file is refused', async () => {
    const keyDir = await tmp('smr-key-');
    const key = path.join(keyDir, 'k');
    const state = path.join(await tmp('smr-umask-'), 'state');
    const underUmask0 = (args: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const p = spawn('sh', ['-c', `umask 000; exec "${process.execPath}" "${SMR}" ${args}`], {
          stdio: 'ignore',
        });
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args}: ${code}`))));
      });
    await underUmask0(`key generate --out "${key}"`);
    expect(await modeOf(key)).toBe(0o600);

    const t = await startTarget({ keyFile: key });
    const src = spawn(
      'sh',
      ['-c', `umask 000; exec "${process.execPath}" "${SMR}" source start --state-dir "${state}"`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    onCleanup(async () => void src.kill('SIGKILL'));
    await new Promise((r) => readline.createInterface({ input: src.stdout }).once('line', r));
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    const c = await smr([
      'connect',
      'web',
      '--to',
      t.addr,
      '--path',
      dir,
      '--key-file',
      key,
      '--state-dir',
      state,
    ]);
    expect(c.code, c.stderr).toBe(0);
    const w = await smr(['wait', 'web', '--timeout', '30s', '--state-dir', state]);
    expect(w.code, w.stderr).toBe(0);
    const loose: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await fsp.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        const m = await modeOf(p);
        if (e.isDirectory()) {
          if (m !== 0o700) loose.push(`${p} ${m.toString(8)}`);
          await walk(p);
        } else if (m & 0o077) loose.push(`${p} ${m.toString(8)}`);
      }
    };
    expect(await modeOf(state)).toBe(0o700);
    await walk(state);
    await walk(t.stateDir);
    expect(loose).toEqual([]);
    src.kill('SIGTERM');

    // A key file others can read is refused, with the one-line fix.
    await fsp.chmod(key, 0o644);
    const r = await smr(
      [
        'target',
        'start',
        '--listen',
        '127.0.0.1:0',
        '--root',
        dir,
        '--key-file',
        key,
        '--state-dir',
        await tmp('smr-tstate-'),
      ],
      { timeoutMs: 20_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(7);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`chmod 600 ${key}`);
    const s2 = await startSource();
    const c2 = await smr([
      'connect',
      'web2',
      '--to',
      t.addr,
      '--path',
      dir,
      '--key-file',
      key,
      '--state-dir',
      s2.stateDir,
      '--json',
    ]);
    expect(c2.code, c2.stdout + c2.stderr).toBe(7);
    expect(c2.json.error.message).toContain(`chmod 600 ${key}`);
  });
});
