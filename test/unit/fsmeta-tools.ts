// Helpers for the fsmeta tests: temp dirs, and the system tools (stat, getfattr, getfacl) whose
// output the tests compare fsmeta's own reads with.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** A fresh temp directory (removed by removeTmpDirs). */
export function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'smr-fsmeta-'));
  made.push(d);
  return d;
}

/** Removes every directory tmpDir made. */
export function removeTmpDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Runs a system tool and returns its stdout; a failure throws with its stderr. */
export function run(cmd: string, args: Array<string | Buffer>): string {
  return execFileSync(cmd, args as string[], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** What coreutils' stat prints about an entry (never following a symlink). */
export interface ToolStat {
  mtimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: bigint;
  nlink: number;
  major: number;
  minor: number;
}

/** coreutils stat, parsed. */
export function toolStat(p: string): ToolStat {
  const [mtime, mode, uid, gid, size, ino, nlink, major, minor] = run('stat', [
    '-c',
    '%.9Y %f %u %g %s %i %h %t %T',
    p,
  ])
    .trim()
    .split(' ') as string[];
  // stat prints -1.000000001 for one ns before -1 s: the sign covers the fraction too.
  const [sec, frac] = (mtime as string).split('.') as [string, string];
  const sign = sec.startsWith('-') ? -1n : 1n;
  return {
    mtimeNs: BigInt(sec) * 1_000_000_000n + sign * BigInt(frac),
    mode: parseInt(mode!, 16),
    uid: Number(uid),
    gid: Number(gid),
    size: Number(size),
    ino: BigInt(ino!),
    nlink: Number(nlink),
    major: parseInt(major!, 16),
    minor: parseInt(minor!, 16),
  };
}

/** `getfattr -d -m - -h -e hex`: every xattr name (ACLs included) with its value, as getfattr sees them. */
export function toolXattrs(p: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const text = run('getfattr', ['-d', '-m', '-', '-h', '-e', 'hex', '--absolute-names', p]);
  for (const line of text.split('\n')) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line);
    if (m) out.set(m[1]!, Buffer.from(m[2]!, 'hex'));
  }
  return out;
}

/** `getfacl -c -n -E`: the ACL entries as getfacl prints them, numeric ids, one a line. */
export function toolAcl(p: string): string[] {
  return run('getfacl', ['-c', '-n', '-E', '-p', p])
    .split('\n')
    .filter((l) => l.trim() !== '');
}
