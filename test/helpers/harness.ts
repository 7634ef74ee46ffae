// Test harness: real smr daemons as child processes on loopback, real temp directories.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { callSource } from '../../src/control/client.js';
import { generateKey, writeKeyFile } from '../../src/shared/key.js';
import { parseDuration } from '../../src/shared/units.js';
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
export function smr(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [SMR, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
  // SMR_TEST_VERBOSE=1 makes daemons log every queued and applied operation (for chasing races).
  if (process.env.SMR_TEST_VERBOSE) args = [...args, '--verbose'];
  const proc = spawn(process.execPath, [SMR, ...args, '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    void exited.then((code) =>
      reject(new Error(`daemon exited (${code}) before ready: ${output}`)),
    );
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
export async function startTarget(
  o: {
    root?: string;
    stateDir?: string;
    keyFile?: string | null;
    port?: number;
    extra?: string[];
  } = {},
): Promise<TargetD> {
  const root = o.root ?? path.join(await tmp('smr-root-'), 'r');
  const stateDir = o.stateDir ?? (await tmp('smr-tstate-'));
  let keyFile = o.keyFile === undefined ? await newKey() : o.keyFile;
  const args = [
    'target',
    'start',
    '--listen',
    `127.0.0.1:${o.port ?? 0}`,
    '--root',
    root,
    ...(o.extra ?? []),
  ];
  if (keyFile) args.push('--key-file', keyFile);
  else args.push('--no-auth');
  const d = await startDaemon(args, stateDir);
  const port = Number(d.ready.port);
  keyFile = keyFile ?? null;
  return { ...d, port, addr: `127.0.0.1:${port}`, root, keyFile };
}

/** Starts `t` again (after a stop or a kill) on the same root, state dir, key and port. */
export function restartTarget(t: TargetD, extra: string[] = []): Promise<TargetD> {
  return startTarget({
    root: t.root,
    stateDir: t.stateDir,
    keyFile: t.keyFile,
    port: t.port,
    extra,
  });
}

/** Starts a source daemon on a state dir (fresh unless given), with `extra` flags. */
export async function startSource(stateDir?: string, extra: string[] = []): Promise<Daemon> {
  return startDaemon(['source', 'start', ...extra], stateDir ?? (await tmp('smr-sstate-')));
}

/**
 * Writes a new key file and returns its path. In-process, with the functions `smr key generate`
 * calls: every target start spawned that verb (~0.3 s of CPU each); tests of the verb itself
 * (cli-verbs, names, permission) still spawn it.
 */
export async function newKey(): Promise<string> {
  const dir = await tmp('smr-key-');
  const file = path.join(dir, 'key');
  await writeKeyFile(file, generateKey());
  return file;
}

/** Connects `name` and returns the parsed status; throws on a non-zero exit. */
export async function connect(
  src: Daemon,
  name: string,
  t: TargetD,
  dir: string,
  extra: string[] = [],
): Promise<RunResult> {
  const args = [
    'connect',
    name,
    '--to',
    t.addr,
    '--path',
    dir,
    '--state-dir',
    src.stateDir,
    '--json',
    ...extra,
  ];
  if (t.keyFile) args.push('--key-file', t.keyFile);
  const r = await smr(args);
  if (r.code !== 0) throw new Error(`connect failed (${r.code}): ${r.stdout}${r.stderr}`);
  return r;
}

/** A target and a source replicating a new directory as `name`, synced once. */
export interface WatchedPair {
  t: TargetD;
  s: Daemon;
  src: string;
  dst: string;
}

/**
 * Starts a target and a source, fills a new source directory (`fill`), connects it as `name` and
 * waits until it is synced: the setup most e2e tests share.
 */
export async function watchedPair(
  fill: (src: string) => void | Promise<void>,
  o: { name?: string; connect?: string[] } = {},
): Promise<WatchedPair> {
  const name = o.name ?? 'app';
  const t = await startTarget();
  const s = await startSource();
  const src = await tmp('smr-src-');
  await fill(src);
  await connect(s, name, t, src, o.connect);
  await waitSynced(s, name);
  return { t, s, src, dst: path.join(t.root, name) };
}

/** A failed `wait`, with the tail of the source's log. */
function waitFailed(err: unknown, src: Daemon): Error {
  const tail = src.log().slice(-3000);
  const e = err as { code?: string; message?: string; hint?: string };
  const why = `${e.code ?? 'error'}: ${e.message ?? String(err)}${e.hint ? `; ${e.hint}` : ''}`;
  return new Error(`wait failed (${why})\n--- source log ---\n${tail}`);
}

/**
 * The daemon's `wait` method, called in-process as `smr wait NAME --json` calls it (the verb is
 * that one call and its rendering; cli-verbs, output and the tests that check its exit codes still
 * spawn it). A spawned verb cost ~0.4 s of CPU, and the e2e suite waits some thousand times.
 */
function daemonWait(src: Daemon, name: string, timeout: string): Promise<unknown> {
  const timeoutMs = parseDuration(timeout);
  // The client's own bound only catches a daemon that never answers.
  return callSource(
    src.stateDir,
    'wait',
    { name, for: 'synced', timeoutMs },
    { timeoutMs: timeoutMs + 30_000 },
  );
}

/** `smr wait NAME --for synced` with a timeout; throws on failure. */
export async function waitSynced(src: Daemon, name: string, timeout = '60s'): Promise<void> {
  try {
    await daemonWait(src, name, timeout);
  } catch (err) {
    throw waitFailed(err, src);
  }
}

/**
 * waitSynced for a workload that may delete more than half of a small tree while the source is
 * down: the restart's deletions are then held by the safety brake (wait fails and says so), and
 * the operator's answer is `mirror start --force`. Any other failure is thrown as it is; the caller
 * still compares the trees with its own walk.
 */
export async function waitSyncedPastBrake(
  src: Daemon,
  name: string,
  timeout = '60s',
): Promise<void> {
  let braked = false;
  try {
    await daemonWait(src, name, timeout);
    return;
  } catch (err) {
    const e = err as { code?: string; message?: string; hint?: string };
    braked = e.code === 'usage' && /held by the safety brake/.test(`${e.message} ${e.hint ?? ''}`);
    if (!braked) throw waitFailed(err, src);
  }
  const f = await smr(['mirror', 'start', name, '--force', '--state-dir', src.stateDir, '--json']);
  if (f.code !== 0)
    throw new Error(`mirror start --force failed (${f.code}): ${f.stdout}${f.stderr}`);
  await waitSynced(src, name, timeout);
}

/** `smr wait NAME --for mirrored` (plus `extra` flags); returns the result for the caller to check. */
export function waitMirrored(
  stateDir: string,
  name: string,
  timeout = '60s',
  extra: string[] = [],
): Promise<RunResult> {
  return smr([
    'wait',
    name,
    '--for',
    'mirrored',
    '--timeout',
    timeout,
    ...extra,
    '--state-dir',
    stateDir,
  ]);
}

/** Asserts two trees are equal byte for byte and mode for mode (throws with the differences). */
export async function expectSameTree(a: string, b: string): Promise<void> {
  const diffs = diffDigests(await treeDigest(a), await treeDigest(b));
  if (diffs.length) throw new Error(`trees differ:\n  ${diffs.slice(0, 30).join('\n  ')}`);
}

/** Polls `fn` until it returns true or throws after `timeoutMs`. */
export async function waitUntil(
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
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

// ---------------------------------------------------------------------------------------------
// Additions for the crash and bad-input suites.

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A small seeded PRNG (mulberry32): the same seed replays the same choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `smr status NAME --json` of a source; throws on an error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function status(src: Daemon, name: string): Promise<any> {
  // In-process, as the verb calls it (see daemonWait); the JSON round trip is what --json prints.
  try {
    const st = await callSource(src.stateDir, 'status', { name }, { timeoutMs: 60_000 });
    return JSON.parse(JSON.stringify(st));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new Error(`status failed (${e.code ?? 'error'}): ${e.message ?? String(err)}`);
  }
}

/** Total bytes of the regular files below `dir` (links not followed). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await treeDigest(dir)) if (e[1].type === 'file') total += e[1].size;
  return total;
}

// The writer runs as its own process so it keeps writing while the test kills and restarts
// daemons. argv: dir seed durationMs maxBigBytes. Every choice comes from the seed.
const WRITER_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const [dir, seedText, durText, maxBigText] = process.argv.slice(1);
let a = Number(seedText) >>> 0;
const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const end = Date.now() + Number(durText);
let bigLeft = Number(maxBigText);
let n = 0;
const bytes = (len) => crypto.randomBytes(len);
function entries() {
  const files = [], dirs = [''];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? rel + '/' + e.name : e.name;
      if (e.isDirectory()) { dirs.push(r); walk(r); } else if (e.isFile()) files.push(r);
    }
  };
  walk('');
  return { files, dirs };
}
const abs = (r) => path.join(dir, r);
const fresh = (d) => (d ? d + '/' : '') + 'f' + seedText + '-' + (n++) + (rnd() < 0.3 ? '.bin' : '.txt');
function step() {
  const { files, dirs } = entries();
  const r = rnd();
  const f = files.length ? pick(files) : null;
  if (r < 0.30 || !f) {
    const big = bigLeft > 0 && rnd() < 0.08;
    const len = big ? Math.min(bigLeft, 1024 * 1024 + Math.floor(rnd() * 3 * 1024 * 1024)) : Math.floor(rnd() * 20000);
    if (big) bigLeft -= len;
    fs.writeFileSync(abs(fresh(pick(dirs))), bytes(len));
  } else if (r < 0.45) {
    fs.appendFileSync(abs(f), bytes(1 + Math.floor(rnd() * 5000)));
  } else if (r < 0.58) {
    const size = fs.statSync(abs(f)).size;
    const fd = fs.openSync(abs(f), 'r+');
    fs.writeSync(fd, bytes(1 + Math.floor(rnd() * 100)), 0, undefined, Math.floor(rnd() * (size + 1)));
    fs.closeSync(fd);
  } else if (r < 0.66) {
    fs.truncateSync(abs(f), Math.floor(rnd() * (fs.statSync(abs(f)).size + 1)));
  } else if (r < 0.76) {
    fs.renameSync(abs(f), abs(fresh(pick(dirs))));
  } else if (r < 0.78 && files.length > 1) {
    const g = pick(files);
    if (g !== f) fs.renameSync(abs(f), abs(g)); // rename over an existing file
  } else if (r < 0.86) {
    fs.rmSync(abs(f));
  } else if (r < 0.91) {
    const parent = pick(dirs);
    fs.mkdirSync(abs((parent ? parent + '/' : '') + 'd' + seedText + '-' + (n++)), { recursive: true });
  } else if (r < 0.95 && dirs.length > 1) {
    const d = pick(dirs.slice(1));
    const to = 'd' + seedText + '-' + (n++);
    fs.renameSync(abs(d), abs(to)); // a whole directory moves (to the top)
  } else if (r < 0.97 && dirs.length > 1) {
    fs.rmSync(abs(pick(dirs.slice(1))), { recursive: true, force: true });
  } else {
    fs.chmodSync(abs(f), rnd() < 0.5 ? 0o600 : 0o644);
  }
}
(async () => {
  let ops = 0;
  while (Date.now() < end) {
    step();
    ops++;
    await new Promise((r) => setTimeout(r, 2 + Math.floor(rnd() * 15)));
  }
  process.stdout.write(JSON.stringify({ ops }) + '\\n');
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** A writer process started by `startWriter`. */
export interface Writer {
  /** Resolves with the number of operations done once the writer has finished (throws if it failed). */
  done: Promise<number>;
}

/**
 * Starts a process that keeps creating, appending, patching, truncating, renaming (files and
 * directories), deleting and chmodding below `dir` for `durationMs`, with files of a few MiB mixed
 * in (at most `maxBigBytes` of them in all).
 */
export function startWriter(
  dir: string,
  o: { seed: number; durationMs: number; maxBigBytes?: number },
): Writer {
  const p = spawn(
    process.execPath,
    [
      '-e',
      WRITER_SCRIPT,
      dir,
      String(o.seed),
      String(o.durationMs),
      String(o.maxBigBytes ?? 8 * 1024 * 1024),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  onCleanup(async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  const done = new Promise<number>((resolve, reject) => {
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`writer (seed ${o.seed}) failed (${code}): ${err}`));
      else resolve(Number((JSON.parse(out) as { ops: number }).ops));
    });
  });
  return { done };
}

/** A TCP port nothing listens on (bound, then closed again). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

// ---- the wire protocol, written out independently of src/ so the tests check it ----

/** The 8-byte preamble: "SMRP", u16 version, u8 TLS (1) or plaintext (0), u8 keyed (1) or not. */
export function rawPreamble(version = 3, o: { tls?: boolean; keyed?: boolean } = {}): Buffer {
  const b = Buffer.alloc(8);
  b.write('SMRP', 0, 'ascii');
  b.writeUInt16BE(version, 4);
  b.writeUInt8(o.tls === false ? 0 : 1, 6);
  b.writeUInt8(o.keyed === false ? 0 : 1, 7);
  return b;
}

/** The TLS 1.3 external PSK of a key (docs/PROTOCOL.md): HKDF-SHA256(key, "smr", info), 32 bytes. */
export function tlsPsk(key: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', key, 'smr', 'smr tls1.3 external psk', 32));
}

/** One frame: u32 BE length | u8 type | u32 header length | JSON header | body. */
export function rawFrame(type: number, header: object, body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const p = Buffer.alloc(9);
  p.writeUInt32BE(1 + 4 + h.length + body.length, 0);
  p.writeUInt8(type, 4);
  p.writeUInt32BE(h.length, 5);
  return Buffer.concat([p, h, body]);
}

/** Frame type codes (docs/PROTOCOL.md). */
export const FRAME = {
  HELLO: 1,
  CHALLENGE: 2,
  AUTH: 3,
  WELCOME: 4,
  REFUSED: 5,
  OPEN: 10,
  OPENED: 11,
  OP: 12,
  ACK: 13,
  NEED: 14,
  PING: 20,
  PONG: 21,
} as const;

/** A decoded frame seen on the wire (body length only, unless kept). */
export interface SeenFrame {
  type: number;
  header: Record<string, unknown>;
  bodyLength: number;
  body?: Buffer;
}

/** Incremental decoder of one direction of an smr stream (preamble first, then frames). */
export class FrameTap {
  private pre: number;
  private skip = 0;
  private buf: Buffer = Buffer.alloc(0);
  preambleBytes: Buffer = Buffer.alloc(0);

  constructor(
    private readonly onFrame: (f: SeenFrame) => void,
    private readonly keepBodies = false,
    preambleBytes = 8,
    private readonly throwOnTls = preambleBytes > 0,
  ) {
    this.pre = preambleBytes;
  }

  push(chunk: Buffer): void {
    while (chunk.length) {
      if (this.pre > 0) {
        const n = Math.min(this.pre, chunk.length);
        this.preambleBytes = Buffer.concat([this.preambleBytes, chunk.subarray(0, n)]);
        this.pre -= n;
        chunk = chunk.subarray(n);
        // After a preamble saying TLS, what follows is not readable as frames.
        if (this.pre === 0 && this.preambleBytes[6] === 1 && this.throwOnTls)
          throw new Error('a TLS link: frames are not readable');
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        chunk = chunk.subarray(n);
        continue;
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      chunk = Buffer.alloc(0);
      this.drain();
    }
  }

  private drain(): void {
    while (this.buf.length >= 9) {
      const len = this.buf.readUInt32BE(0);
      const hlen = this.buf.readUInt32BE(5);
      if (this.buf.readUInt8(4) & 0x80) throw new Error('a compressed frame');
      if (len > 9 * 1024 * 1024 || hlen > len) throw new Error('not an smr frame');
      const total = 4 + len;
      const need = this.keepBodies ? total : 9 + hlen;
      if (this.buf.length < need) return;
      const header = JSON.parse(this.buf.subarray(9, 9 + hlen).toString('utf8')) as Record<
        string,
        unknown
      >;
      const f: SeenFrame = { type: this.buf.readUInt8(4), header, bodyLength: len - 5 - hlen };
      if (this.keepBodies) f.body = Buffer.from(this.buf.subarray(9 + hlen, total));
      this.onFrame(f);
      if (this.buf.length >= total) this.buf = this.buf.subarray(total);
      else {
        this.skip = total - this.buf.length;
        this.buf = Buffer.alloc(0);
        return;
      }
    }
  }
}

/** A raw TCP client of a target, for feeding it hand-made (and malformed) bytes, in TLS or not. */
export class RawClient {
  readonly frames: SeenFrame[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private waiters: Array<() => void> = [];
  private stream: net.Socket;
  private tap = this.newTap(8);

  private constructor(readonly socket: net.Socket) {
    this.stream = socket;
    this.listen(socket);
    this.closed = new Promise((r) =>
      socket.once('close', () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w();
        r();
      }),
    );
  }

  private newTap(preamble: number): FrameTap {
    return new FrameTap(
      (f) => {
        this.frames.push(f);
        for (const w of this.waiters.splice(0)) w();
      },
      true,
      preamble,
      false, // the client switches to TLS itself (startTls)
    );
  }

  private listen(s: net.Socket): void {
    s.on('data', (d: Buffer) => {
      try {
        this.tap.push(d);
      } catch {
        s.destroy();
      }
    });
    s.on('error', () => undefined);
  }

  /**
   * After the preambles: TLS 1.3 with the key's PSK (as a source does); frames from then on go
   * and come inside TLS. Resolves once the target proved the key.
   */
  async startTls(key: Buffer): Promise<void> {
    const end = Date.now() + 10_000;
    while (this.tap.preambleBytes.length < 8) {
      if (this.isClosed || Date.now() > end) throw new Error('no preamble from the target');
      await sleep(5);
    }
    const t = tls.connect({
      socket: this.socket,
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_128_GCM_SHA256',
      pskCallback: () => ({ identity: 'smr/key', psk: tlsPsk(key) }),
      checkServerIdentity: () => undefined,
    });
    const peerPreamble = this.tap.preambleBytes;
    this.tap = this.newTap(0);
    this.tap.preambleBytes = peerPreamble;
    this.stream = t;
    this.listen(t);
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
      t.once('close', () => reject(new Error('closed during TLS')));
    });
  }

  /** Opens a TCP connection to 127.0.0.1:port. */
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** The peer's preamble bytes received so far. */
  get peerPreamble(): Buffer {
    return this.tap.preambleBytes;
  }

  write(b: Buffer): void {
    this.stream.write(b);
  }

  send(type: number, header: object, body?: Buffer): void {
    this.stream.write(rawFrame(type, header, body));
  }

  /** Resolves true once the peer has closed the connection, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }

  /** Waits for the first received frame matching `pred`; throws when the connection closes first. */
  async waitFrame(
    pred: (f: SeenFrame) => boolean,
    ms = 10_000,
    what = 'frame',
  ): Promise<SeenFrame> {
    const end = Date.now() + ms;
    let seen = 0;
    for (;;) {
      for (; seen < this.frames.length; seen++) {
        const f = this.frames[seen] as SeenFrame;
        if (pred(f)) return f;
      }
      if (this.isClosed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() >= end) throw new Error(`timed out waiting for ${what}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(end - Date.now())]);
    }
  }

  destroy(): void {
    this.stream.destroy();
    this.socket.destroy();
  }
}

/** HMAC-SHA256 proof of the handshake: `smr-<role>\0<a>\0<b>` keyed by the shared key. */
export function handshakeProof(
  key: Buffer,
  role: 'server' | 'client',
  a: string,
  b: string,
): string {
  return crypto.createHmac('sha256', key).update(`smr-${role}\0${a}\0${b}`).digest('hex');
}

/** Reads a key file (64 hex digits) into the key bytes. */
export async function readKey(file: string): Promise<Buffer> {
  return Buffer.from((await fsp.readFile(file, 'utf8')).trim(), 'hex');
}

/**
 * Does the real handshake with a target as a source would (preamble, TLS, HELLO, CHALLENGE, AUTH,
 * WELCOME), then OPEN; returns the client and the OPENED (or REFUSED) frame.
 */
export async function rawSession(
  port: number,
  key: Buffer,
  open: Record<string, unknown>,
): Promise<{ c: RawClient; opened: SeenFrame }> {
  const c = await RawClient.connect(port);
  onCleanup(async () => c.destroy());
  c.write(rawPreamble());
  await c.startTls(key);
  const cNonce = crypto.randomBytes(32).toString('hex');
  c.send(FRAME.HELLO, { nonce: cNonce });
  const ch = await c.waitFrame((f) => f.type === FRAME.CHALLENGE, 10_000, 'CHALLENGE');
  const sNonce = String(ch.header.nonce);
  if (ch.header.proof !== handshakeProof(key, 'server', cNonce, sNonce))
    throw new Error('the target proof does not match the key');
  c.send(FRAME.AUTH, { proof: handshakeProof(key, 'client', sNonce, cNonce) });
  await c.waitFrame((f) => f.type === FRAME.WELCOME, 10_000, 'WELCOME');
  c.send(FRAME.OPEN, open);
  const opened = await c.waitFrame(
    (f) => f.type === FRAME.OPENED || f.type === FRAME.REFUSED,
    10_000,
    'OPENED',
  );
  return { c, opened };
}

/**
 * One proxied connection's decoded frames, both ways, in order of arrival (plaintext links only:
 * a TLS link's frames cannot be read, and `opaque` says so), and the raw bytes when recorded.
 */
export interface ProxiedConn {
  up: SeenFrame[]; // source -> target
  down: SeenFrame[]; // target -> source
  /** Both directions interleaved as seen by the proxy. */
  events: Array<{ dir: 'up' | 'down'; f: SeenFrame }>;
  /** The bytes did not decode as frames (TLS, or compressed frames). */
  opaque: boolean;
  /** Bytes forwarded each way. */
  bytesUp: number;
  bytesDown: number;
  /** Every byte forwarded, each way (only with `record`). */
  rawUp: Buffer[];
  rawDown: Buffer[];
}

/** A TCP proxy in front of a target that records the frames it forwards and can cut every link. */
export interface Proxy {
  port: number;
  addr: string;
  conns: ProxiedConn[];
  /** Destroys every proxied socket (both sides), like a network failure. */
  dropAll(): number;
  /** Stops forwarding (and reading) on every live connection, like a black-holed path. */
  stall(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`targetPort` (`record`: keep the bytes). */
export async function startProxy(targetPort: number, o: { record?: boolean } = {}): Promise<Proxy> {
  const live = new Set<net.Socket>();
  const conns: ProxiedConn[] = [];
  const stalled = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    const pc: ProxiedConn = {
      up: [],
      down: [],
      events: [],
      opaque: false,
      bytesUp: 0,
      bytesDown: 0,
      rawUp: [],
      rawDown: [],
    };
    conns.push(pc);
    const tap = (t: FrameTap, d: Buffer): void => {
      if (pc.opaque) return;
      try {
        t.push(d);
      } catch {
        pc.opaque = true;
      }
    };
    const upTap = new FrameTap((f) => {
      pc.up.push(f);
      pc.events.push({ dir: 'up', f });
    });
    const downTap = new FrameTap((f) => {
      pc.down.push(f);
      pc.events.push({ dir: 'down', f });
    });
    for (const s of [client, upstream]) {
      live.add(s);
      s.on('close', () => live.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (d: Buffer) => {
      tap(upTap, d);
      pc.bytesUp += d.length;
      if (o.record) pc.rawUp.push(d);
      if (!upstream.write(d)) client.pause();
    });
    upstream.on('drain', () => {
      if (!stalled.has(client)) client.resume();
    });
    upstream.on('data', (d: Buffer) => {
      tap(downTap, d);
      pc.bytesDown += d.length;
      if (o.record) pc.rawDown.push(d);
      if (!client.write(d)) upstream.pause();
    });
    client.on('drain', () => {
      if (!stalled.has(upstream)) upstream.resume();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: Proxy = {
    port,
    addr: `127.0.0.1:${port}`,
    conns,
    dropAll: () => {
      const n = live.size;
      for (const s of [...live]) s.destroy();
      stalled.clear();
      return n;
    },
    stall: () => {
      for (const s of live) {
        stalled.add(s);
        s.pause();
      }
    },
    close: async () => {
      for (const s of [...live]) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  onCleanup(() => proxy.close());
  return proxy;
}
