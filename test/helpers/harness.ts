// Test harness: real smr daemons as child processes on loopback, real temp directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { diffDigests, treeDigest } from '../../src/shared/tree-digest.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SMR = path.join(ROOT, 'bin', 'smr.js');

const cleanups: Array<() => Promise<void>> = [];

/** Registers a cleanup run by `cleanupAll` (call it in afterEach/afterAll). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** Stops every daemon and removes every temp dir made through this harness. */
export async function cleanupAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

/** A fresh temp directory, removed by cleanupAll. */
export async function tmp(prefix = 'smr-test-'): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  onCleanup(() => fsp.rm(d, { recursive: true, force: true }));
  return d;
}

/** Result of one smr invocation. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** Runs `smr ...args` to completion. */
export function smr(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [SMR, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      let json: unknown = undefined;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not JSON output
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/** A daemon started by the harness. */
export interface Daemon {
  proc: ChildProcess;
  ready: Record<string, unknown>;
  stateDir: string;
  log: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

function startDaemon(args: string[], stateDir: string): Promise<Daemon> {
  const proc = spawn(process.execPath, [SMR, ...args, '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const d = new Promise<Daemon>((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    let first = true;
    rl.on('line', (line) => {
      output += line + '\n';
      if (!first) return;
      first = false;
      try {
        const ready = JSON.parse(line) as Record<string, unknown>;
        resolve({
          proc,
          ready,
          stateDir,
          log: () => output,
          stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            return exited;
          },
          kill: async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
            await exited;
          },
        });
      } catch {
        reject(new Error(`daemon's first line is not JSON: ${line}`));
      }
    });
    void exited.then((code) => reject(new Error(`daemon exited (${code}) before ready: ${output}`)));
  });
  return d.then((daemon) => {
    onCleanup(() => daemon.kill());
    return daemon;
  });
}

/** A running target. */
export interface TargetD extends Daemon {
  port: number;
  addr: string;
  root: string;
  keyFile: string | null;
}

/** Starts a target on 127.0.0.1:0 with a fresh key (or the given one, or none with auth:false). */
export async function startTarget(o: { root?: string; stateDir?: string; keyFile?: string | null; port?: number; extra?: string[] } = {}): Promise<TargetD> {
  const root = o.root ?? path.join(await tmp('smr-root-'), 'r');
  const stateDir = o.stateDir ?? (await tmp('smr-tstate-'));
  let keyFile = o.keyFile === undefined ? await newKey() : o.keyFile;
  const args = ['target', 'start', '--listen', `127.0.0.1:${o.port ?? 0}`, '--root', root, ...(o.extra ?? [])];
  if (keyFile) args.push('--key-file', keyFile);
  else args.push('--no-auth');
  const d = await startDaemon(args, stateDir);
  const port = Number(d.ready.port);
  keyFile = keyFile ?? null;
  return { ...d, port, addr: `127.0.0.1:${port}`, root, keyFile };
}

/** Starts a source daemon on a state dir (fresh unless given). */
export async function startSource(stateDir?: string): Promise<Daemon> {
  return startDaemon(['source', 'start'], stateDir ?? (await tmp('smr-sstate-')));
}

/** Writes a new key file and returns its path. */
export async function newKey(): Promise<string> {
  const dir = await tmp('smr-key-');
  const file = path.join(dir, 'key');
  const r = await smr(['key', 'generate', '--out', file]);
  if (r.code !== 0) throw new Error(`key generate failed: ${r.stderr}`);
  return file;
}

/** Connects `name` and returns the parsed status; throws on a non-zero exit. */
export async function connect(src: Daemon, name: string, t: TargetD, dir: string, extra: string[] = []): Promise<RunResult> {
  const args = ['connect', name, '--to', t.addr, '--path', dir, '--state-dir', src.stateDir, '--json', ...extra];
  if (t.keyFile) args.push('--key-file', t.keyFile);
  const r = await smr(args);
  if (r.code !== 0) throw new Error(`connect failed (${r.code}): ${r.stdout}${r.stderr}`);
  return r;
}

/** `smr wait NAME --for synced` with a timeout; throws on failure. */
export async function waitSynced(src: Daemon, name: string, timeout = '60s'): Promise<void> {
  const r = await smr(['wait', name, '--timeout', timeout, '--state-dir', src.stateDir, '--json']);
  if (r.code !== 0) throw new Error(`wait failed (${r.code}): ${r.stdout}${r.stderr}\n--- source log ---\n${src.log().slice(-3000)}`);
}

/** Asserts two trees are equal byte for byte and mode for mode (throws with the differences). */
export async function expectSameTree(a: string, b: string): Promise<void> {
  const diffs = diffDigests(await treeDigest(a), await treeDigest(b));
  if (diffs.length) throw new Error(`trees differ:\n  ${diffs.slice(0, 30).join('\n  ')}`);
}

/** Polls `fn` until it returns true or throws after `timeoutMs`. */
export async function waitUntil(fn: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Writes a file, creating parents. */
export async function write(file: string, data: string | Buffer): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, data);
}
