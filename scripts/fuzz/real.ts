// After the fuzz: real replication still works. A real source daemon (the build under test)
// replicates a small tree into a fuzzed target, `smr wait` returns 0, and an independent walk of
// both trees (type, mode, content, link target) finds no difference.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { snapshot } from './arena.js';

/** Runs `smr ...args`; resolves with its exit code and output. */
export function smr(bin: string, args: string[], timeoutMs = 180_000) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

/** A running source daemon. */
export interface Source {
  stateDir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a source daemon on `stateDir` and waits for its ready line. */
export async function startSource(bin: string, stateDir: string, logFile: string): Promise<Source> {
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const proc = spawn(process.execPath, [bin, 'source', 'start', '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = await fsp.open(logFile, 'a');
  proc.stderr.on('data', (d: Buffer) => void log.write(d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once('line', () => resolve());
    void exited.then(() => reject(new Error('the source daemon exited before it was ready')));
  });
  return {
    stateDir,
    proc,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      await log.close();
    },
  };
}

/** A small tree with the shapes replication carries: files, directories, a link, modes. */
export async function makeTree(dir: string, tag: string): Promise<void> {
  await fsp.mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
  for (let i = 0; i < 40; i++)
    await fsp.writeFile(
      path.join(dir, i % 2 ? 'sub' : '', `f${i}.txt`),
      `${tag} ${i}\n`.repeat(i * 50 + 1),
    );
  await fsp.writeFile(path.join(dir, 'sub', 'deeper', 'big.bin'), Buffer.alloc(3 << 20, 7));
  await fsp.symlink('sub/f1.txt', path.join(dir, 'link'));
  await fsp.chmod(path.join(dir, 'f0.txt'), 0o600);
}

/** How two trees differ (type, mode, content, link target; not times or owners). */
export async function treeDiff(a: string, b: string): Promise<string[]> {
  const shape = (m: Map<string, string>): Map<string, string> =>
    new Map(
      [...m].map(([p, v]) => {
        const [mode, , ...rest] = v.split(' ');
        const kind =
          rest[0] === 'dir' || rest[0] === '->' ? rest.join(' ') : `${rest[0]} ${rest[1]}`;
        return [p, `${mode} ${kind}`];
      }),
    );
  const [x, y] = [shape(await snapshot(a, new Set())), shape(await snapshot(b, new Set()))];
  const out: string[] = [];
  for (const [p, v] of x) if (y.get(p) !== v) out.push(`${p}: ${v} / ${y.get(p) ?? 'missing'}`);
  for (const p of y.keys()) if (!x.has(p)) out.push(`${p}: only on the target`);
  return out;
}

/**
 * Connects `name` from `src` to the target on `port` (TLS or not), waits until synced, and
 * compares the trees. Resolves with what went wrong, or null.
 */
export async function replicateOnce(
  bin: string,
  src: Source,
  o: { name: string; port: number; keyFile: string; tls: boolean; dir: string; replica: string },
): Promise<string | null> {
  const args = ['connect', o.name, '--to', `127.0.0.1:${o.port}`, '--path', o.dir];
  args.push('--key-file', o.keyFile, '--state-dir', src.stateDir);
  if (!o.tls) args.push('--insecure-no-tls');
  const c = await smr(bin, args);
  if (c.code !== 0) return `connect ${o.name} exited ${c.code}: ${c.out.trim()}`;
  await fsp.writeFile(path.join(o.dir, 'after-connect.txt'), 'written after connect\n');
  const w = await smr(bin, ['wait', o.name, '--timeout', '120s', '--state-dir', src.stateDir]);
  if (w.code !== 0) return `wait ${o.name} exited ${w.code}: ${w.out.trim()}`;
  const diffs = await treeDiff(o.dir, o.replica);
  return diffs.length ? `${diffs.length} differences: ${diffs.slice(0, 5).join('; ')}` : null;
}
