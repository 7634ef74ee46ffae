// The stat worker (stat-pool.ts, run by DirLister): its fstatat through koffi (fsmeta/libc.ts,
// fstatatPlan) relative to each directory's fd gives every number a walk compares exactly as
// Node's own lstat gives it — nanosecond and pre-1970 mtimes, sizes past 4 GiB, non-UTF-8 names.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  lstatSync,
  readdirSync,
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
import { DirLister, listInline, nameStart } from '../../../src/source/dir-lister.js';
import {
  FIELDS as STAT_FIELDS,
  FULL_FIELDS,
  statAt,
  type StatResult,
} from '../../../src/source/stat-pool.js';
import { ListedStat } from '../../../src/source/scan-listed.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const FIELDS = ['dev', 'ino', 'mode', 'size', 'mtimeMs', 'ctimeMs'] as const;
/** What the mirror's scan reads besides (FULL_FIELDS). */
const MORE = ['nlink', 'uid', 'gid', 'rdev'] as const;

function numbers(st: StatResult, full = false): unknown {
  if (st === null || typeof st === 'string') return st;
  const more = full ? MORE.map((k) => (st as unknown as Record<string, number>)[k]) : [];
  return [...FIELDS.map((k) => st[k]), ...more, st.isFile(), st.isDirectory(), st.isSymbolicLink()];
}

/** A listing's names and what a comparison reads of each one's stat (all of it: `fields`). */
async function listed(lister: DirLister, dir: string): Promise<unknown> {
  const l = await lister.list(Buffer.from(dir));
  if ('error' in l) return l;
  let code = 0;
  const full = lister.fields === FULL_FIELDS;
  return [...l.ends].map((end, i) => {
    const o = i * lister.fields;
    let st = statAt(l.out, o, l.codes[code] ?? 'error');
    if (typeof st === 'string') code++;
    else if (st && full) st = new ListedStat(l.out, o);
    return [l.bytes.subarray(nameStart(l, i), end).toString('hex'), numbers(st, full)];
  });
}

describe('the stat worker', () => {
  it("gives, through DirLister's worker, each number Node's lstat gives", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'smr-statpool-'));
    dirs.push(dir);
    const at = (rel: string): string => path.join(dir, rel);
    mkdirSync(at('sub'));
    for (let i = 0; i < 40; i++) {
      writeFileSync(at(`sub/f${i}`), 'x'.repeat(i));
      // Nanoseconds a double of milliseconds cannot hold exactly: Node's rounding must be matched.
      setMtimeNsSync(at(`sub/f${i}`), 1_765_000_000_123_456_789n + BigInt(i) * 7_919n);
    }
    writeFileSync(at('sub/old'), '');
    setMtimeNsSync(at('sub/old'), -315_619_199_876_543_211n); // 1960: tv_sec < 0
    writeFileSync(at('big'), '');
    truncateSync(at('big'), 5 * 2 ** 30 + 3); // sparse: a size past 32 bits
    symlinkSync('sub/f1', at('link'));
    execFileSync('mkfifo', [at('fifo')]);
    writeFileSync(Buffer.from([...Buffer.from(`${dir}/n`), 0xff, 0xe9]), 'not UTF-8');
    // Valid UTF-8 but not ASCII: its bytes must reach fstatat as they are, not re-encoded.
    mkdirSync(at('utf8'));
    for (const n of ['é', 'ß-1', 'a', '日本']) writeFileSync(at(`utf8/${n}`), n);
    // What only the mirror's scan reads (FULL_FIELDS): links, owners, a device's numbers.
    linkSync(at('sub/f3'), at('sub/f3-link'));
    if (process.getuid?.() === 0) {
      chownSync(at('sub/f5'), 4_000_000_123, 3_000_000_321); // past 31 bits: read as u32
      execFileSync('mknod', [at('dev'), 'c', '1', '3']);
      execFileSync('mknod', [at('blk'), 'b', '7', '1000']);
    }

    // `sub`: ASCII names only (passed to fstatat as strings); the others hold other bytes.
    for (const d of [dir, at('sub'), at('utf8')])
      for (const fields of [STAT_FIELDS, FULL_FIELDS]) {
        const full = fields === FULL_FIELDS;
        // Inline: Node's lstat itself.
        const want = await listed(new DirLister(Infinity, null, 2, fields), d);
        const names = readdirSync(d, { encoding: 'buffer' }).sort(Buffer.compare);
        expect(want).toEqual(names.map((n) => [n.toString('hex'), numbers(lstatAt(d, n), full)]));
        for (const plan of [fstatatPlan(), null]) {
          // -1: even the first directory goes to the worker (0 lists it inline).
          const lister = new DirLister(-1, plan, 2, fields);
          try {
            expect(await listed(lister, d)).toEqual(want);
          } finally {
            lister.close();
          }
        }
      }
    // A directory that is not there, or is no directory, says so.
    const lister = new DirLister(-1);
    expect(await listed(lister, at('gone'))).toEqual({ error: 'ENOENT' });
    expect(await listed(lister, at('big'))).toEqual({ error: 'ENOTDIR' });
    lister.close();
    expect(listInline(Buffer.from(at('gone')))).toEqual({ error: 'ENOENT' });
  });

  it('knows struct stat where it reads it, and nothing elsewhere', () => {
    expect(fstatatPlan('darwin', 'arm64')).toBeNull();
    expect(fstatatPlan('linux', 'ia32')).toBeNull();
    if (process.platform === 'linux' && process.arch === 'x64')
      expect(fstatatPlan()?.size).toBe(144);
  });
});

function lstatAt(dir: string, name: Buffer): StatResult {
  return lstatSync(Buffer.concat([Buffer.from(`${dir}/`), name]));
}
