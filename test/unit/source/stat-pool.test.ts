// StatPool's worker: its fstatat through koffi (fsmeta/libc.ts, fstatatPlan) relative to each
// directory's fd gives every number a walk compares exactly as Node's own lstat gives it —
// nanosecond and pre-1970 mtimes, sizes past 4 GiB, non-UTF-8 names — and says gone and
// unreadable names as lstat does.
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fstatatPlan, setMtimeNsSync } from '../../../src/fsmeta/index.js';
import { StatPool, type StatResult } from '../../../src/source/stat-pool.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const FIELDS = ['dev', 'ino', 'mode', 'size', 'mtimeMs', 'ctimeMs'] as const;

function numbers(st: StatResult): unknown {
  if (st === null || typeof st === 'string') return st;
  return [...FIELDS.map((k) => st[k]), st.isFile(), st.isDirectory(), st.isSymbolicLink()];
}

async function statAll(pool: StatPool, paths: Buffer[]): Promise<unknown[]> {
  const joined = Buffer.concat(paths.flatMap((p) => [p, Buffer.of(0)]));
  return (await pool.many(joined, paths.length)).map(numbers);
}

describe('StatPool', () => {
  it("gives, on its worker, each number Node's lstat gives", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'smr-statpool-'));
    dirs.push(dir);
    const names: Buffer[] = [];
    const add = (rel: string | Buffer): Buffer => {
      const p = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(rel)]);
      names.push(p);
      return p;
    };
    mkdirSync(path.join(dir, 'sub'));
    for (let i = 0; i < 40; i++) {
      const p = add(`sub/f${i}`);
      writeFileSync(p, 'x'.repeat(i));
      // Nanoseconds a double of milliseconds cannot hold exactly: Node's rounding must be matched.
      setMtimeNsSync(p, 1_765_000_000_123_456_789n + BigInt(i) * 7_919n);
    }
    writeFileSync(add('sub/old'), '');
    setMtimeNsSync(path.join(dir, 'sub/old'), -315_619_199_876_543_211n); // 1960: tv_sec < 0
    writeFileSync(add('big'), '');
    truncateSync(path.join(dir, 'big'), 5 * 2 ** 30 + 3); // sparse: a size past 32 bits
    add('sub');
    symlinkSync('sub/f1', add('link'));
    execFileSync('mkfifo', [add('fifo')]);
    writeFileSync(add(Buffer.from([0x6e, 0xff, 0xe9])), 'not UTF-8');
    add('gone'); // never made: null, as lstat's ENOENT
    add('big/under'); // below a file: null, as lstat's ENOTDIR
    add('nodir/x'); // in a directory that is not there
    names.push(Buffer.from('/usr')); // a name in '/' (its directory's path is empty)

    const want = names.map((p) => numbers(lstatSyncOrNull(p)));
    expect(want.filter((w) => w === null)).toHaveLength(3);
    expect(await statAll(new StatPool(Infinity), names)).toEqual(want); // inline: lstat itself
    for (const plan of [fstatatPlan(), null]) {
      const pool = new StatPool(0, plan);
      try {
        expect(await statAll(pool, names)).toEqual(want);
        expect(await statAll(pool, names.slice().reverse())).toEqual(want.slice().reverse());
      } finally {
        pool.close();
      }
    }
  });

  it('knows struct stat where it reads it, and nothing elsewhere', () => {
    expect(fstatatPlan('darwin', 'arm64')).toBeNull();
    expect(fstatatPlan('linux', 'ia32')).toBeNull();
    if (process.platform === 'linux' && process.arch === 'x64')
      expect(fstatatPlan()?.size).toBe(144);
  });
});

function lstatSyncOrNull(p: Buffer): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
