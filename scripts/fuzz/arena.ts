// The ground the fuzz runs on: a sentinel tree around the targets' roots (a directory outside,
// a victim file, a neighbour on the same file system), links planted inside the replicas that
// point out of them, and a snapshot of everything outside the roots to compare after the run.
// The roots live on a small loop-mounted ext4 when the machine allows (root), so a hostile op
// that writes without end meets ENOSPC rather than the host's disk.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The directories of one fuzz run. */
export interface Arena {
  top: string;
  /** Where the roots' file system is mounted (or a plain directory). */
  fs: string;
  mounted: boolean;
  outside: string;
  victim: string;
  tasksDir: string;
  keyFile: string;
  key: Buffer;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 60_000 }, (err, _o, stderr) =>
      err ? reject(new Error(`${cmd}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}

/** Builds the arena under `top` (a fresh directory); `fsMiB` sizes the roots' file system. */
export async function makeArena(top: string, fsMiB: number): Promise<Arena> {
  await fsp.mkdir(top, { recursive: true, mode: 0o755 });
  const a: Arena = {
    top,
    fs: path.join(top, 'fs'),
    mounted: false,
    outside: path.join(top, 'outside'),
    victim: path.join(top, 'victim'),
    tasksDir: path.join(top, 'tasks'),
    keyFile: path.join(top, 'key'),
    key: crypto.randomBytes(32),
  };
  for (const d of [a.fs, a.outside, a.victim, a.tasksDir]) await fsp.mkdir(d, { mode: 0o755 });
  await fsp.writeFile(a.keyFile, a.key.toString('hex') + '\n', { mode: 0o600 });
  await fsp.writeFile(path.join(a.victim, 'keep.txt'), 'the victim: never changed\n');
  // The only program a task may run: harmless.
  await fsp.writeFile(path.join(a.tasksDir, 'ok'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  if (process.getuid?.() === 0 && process.platform === 'linux') {
    const image = path.join(top, 'fs.img');
    try {
      await fsp.writeFile(image, '');
      await fsp.truncate(image, fsMiB * 1024 * 1024);
      await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
      await run('mount', ['-o', 'loop', image, a.fs]);
      a.mounted = true;
    } catch {
      // A plain directory then; the run says so.
    }
  }
  await fsp.writeFile(path.join(a.fs, 'neighbour.txt'), 'beside the roots, on their disk\n');
  return a;
}

/** Unmounts the arena's file system (when it was mounted) and removes the arena. */
export async function dropArena(a: Arena, keep: boolean): Promise<void> {
  if (a.mounted) await run('umount', [a.fs]).catch(() => run('umount', ['-l', a.fs]));
  if (!keep) await fsp.rm(a.top, { recursive: true, force: true });
}

/**
 * Removes a tree with rm(1), not fs.rm: hostile ops build trees deeper than PATH_MAX, which
 * fs.rm cannot remove (ENAMETOOLONG stopped two long runs); rm walks them relative to each
 * directory.
 */
export function rmTree(p: string): Promise<void> {
  return run('rm', ['-rf', '--one-file-system', p]);
}

/** Links inside a replica that point out of it: what ops must never write through. */
export async function plantLinks(a: Arena, replica: string): Promise<void> {
  await fsp.mkdir(replica, { recursive: true });
  const up = path.relative(replica, a.top); // ../../.. : the arena, outside the root
  const links: Array<[string, string]> = [
    ['lnk', a.outside],
    ['up', up],
    ['vdir', a.victim],
    ['vfile', path.join(a.victim, 'keep.txt')],
    ['rootlink', '/'],
  ];
  for (const [name, to] of links) {
    const at = path.join(replica, name);
    const cur = await fsp.readlink(at).catch(() => null);
    if (cur === to) continue;
    await rmTree(at); // hostile ops may have built a tree there deeper than PATH_MAX
    await fsp.symlink(to, at);
  }
}

/** Every entry of `dir` (links not followed) with its type, mode, size, hash or link target. */
export async function snapshot(
  dir: string,
  skip: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? path.join(dir, rel) : dir;
    for (const n of (await fsp.readdir(abs).catch(() => [])).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = path.join(dir, r);
      if (skip.has(p)) continue;
      const st = await fsp.lstat(p).catch(() => null);
      if (!st) continue;
      const head = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(r, `${head} -> ${await fsp.readlink(p)}`);
      else if (st.isDirectory()) {
        out.set(r, `${head} dir`);
        await walk(r);
      } else if (st.isFile()) {
        const sum = crypto
          .createHash('sha256')
          .update(await fsp.readFile(p))
          .digest('hex');
        out.set(r, `${head} ${st.size} ${sum} ${st.mtimeMs}`);
      } else out.set(r, `${head} other`);
    }
  };
  await walk('');
  return out;
}

/** What changed between two snapshots (an empty list: nothing). */
export function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of after) {
    const was = before.get(p);
    if (was === undefined) out.push(`appeared: ${p} (${v})`);
    else if (was !== v) out.push(`changed: ${p} (${was} => ${v})`);
  }
  for (const p of before.keys()) if (!after.has(p)) out.push(`vanished: ${p}`);
  return out;
}

/** Names a hostile op or task would leave outside the arena (they all contain "smr-fuzz-pwn"). */
export async function strayPwns(): Promise<string[]> {
  const out: string[] = [];
  for (const d of ['/', '/tmp', '/etc', '/usr/bin', '/root']) {
    for (const n of await fsp.readdir(d).catch(() => [] as string[]))
      if (n.includes('smr-fuzz-pwn')) out.push(path.join(d, n));
  }
  return out;
}

/** Bytes free on the arena's file system. */
export async function freeBytes(a: Arena): Promise<{ free: number; total: number }> {
  const st = await fsp.statfs(a.fs);
  return { free: st.bavail * st.bsize, total: st.blocks * st.bsize };
}
