// The hash pool's worker answers what the inline path does: hashSmallStat's hashes and stat for
// `blocks`, fileSha256's size and sha256 for `sums`, and null or 'retry' where that path would
// not settle a file from its small read.
import { execFileSync } from 'node:child_process';
import {
  fstatSync,
  mkdirSync,
  openSync,
  closeSync,
  promises as fsp,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fileSha256, hashSmallStat, HashPool, initHash } from '../../../src/delta/index.js';
import { SMALL_FILE_BYTES } from '../../../src/delta/small-file.js';
import { fstatatPlan } from '../../../src/shared/fstatat-plan.js';
import { nameFromBytes } from '../../../src/shared/name-bytes.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const BLOCK = 16 * 1024;

// Each file opened relative to its directory's fd through koffi (where this platform has a plan),
// and by its path through fs: the same answers.
const ways = [
  ...(fstatatPlan() ? [{ way: 'openat through koffi', plan: fstatatPlan() }] : []),
  { way: 'by path through fs', plan: null },
];

describe.each(ways)('HashPool, each file opened $way', ({ plan }) => {
  const pool = new HashPool(plan);
  afterAll(() => pool.close());

  it('blocks: the inline hashes and the stat of the open file, null where inline is null', async () => {
    await initHash();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-hpool-'));
    const sizes = [0, 1, 4095, BLOCK, BLOCK + 1, 5 * BLOCK + 3, SMALL_FILE_BYTES];
    const files = sizes.map((n) => {
      const f = path.join(dir, `f${n}`);
      const body = Buffer.alloc(n, n % 251);
      if (n > 0) body[n - 1] = 7;
      writeFileSync(f, body);
      return f;
    });
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(SMALL_FILE_BYTES + 1, 1));
    symlinkSync('f1', path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'd'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const odd = ['big', 'link', 'd', 'fifo', 'gone'].map((n) => path.join(dir, n));
    // A size other than the file's (changed since the scan): hashed as it is now, with the stat
    // that says so (the caller compares it with the scan's), as inline.
    const paths = [...files, ...odd, files[2] as string];
    const expected = [...sizes, SMALL_FILE_BYTES + 1, 2, 4096, 0, 5, 4000];
    const got = await pool.blocks(paths, expected, BLOCK);
    expect(got).not.toBeNull();
    for (const [i, p] of paths.entries()) {
      const inline = hashSmallStat(p, BLOCK, expected[i] as number);
      const r = got?.[i] ?? null;
      if (!inline) {
        expect(r).toBeNull();
        continue;
      }
      expect(r?.sha256).toBe(inline.blocks.sha256);
      expect(r?.size).toBe(inline.blocks.size);
      expect(r?.blockSize).toBe(BLOCK);
      expect([...(r?.hashes ?? [])]).toEqual([...inline.blocks.hashes]);
      const fd = openSync(p, 'r');
      const st = fstatSync(fd);
      closeSync(fd);
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size'] as const)
        expect(r?.st[k]).toBe(st[k]);
      expect(r?.st.mtimeMs).toBe(st.mtimeMs);
      expect(r?.st.ctimeMs).toBe(st.ctimeMs);
      expect(r?.st.isFile()).toBe(true);
    }
    expect(got?.filter(Boolean).length).toBe(sizes.length + 1);
    expect(got?.[paths.length - 1]?.st.size).toBe(4095);
  });

  it('sums: fileSha256 of small files, null for what is not a file, retry for large ones', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-hpool-'));
    const small = path.join(dir, 'small');
    writeFileSync(small, 'hello');
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '');
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(SMALL_FILE_BYTES + 1, 1));
    symlinkSync('small', path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'd'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const paths = [
      small,
      empty,
      big,
      ...['link', 'd', 'fifo', 'gone'].map((n) => path.join(dir, n)),
    ];
    const got = await pool.sums(paths);
    expect(got?.slice(0, 2)).toEqual([await fileSha256(small), await fileSha256(empty)]);
    expect(got?.slice(2)).toEqual(['retry', null, null, null, null]);
  });

  it('reaches a name that is not UTF-8 by its bytes', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-hpool-'));
    const raw = Buffer.from([0x66, 0xff, 0x2e]);
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), raw]), 'odd');
    writeFileSync(path.join(dir, 'plain'), 'even');
    const odd = path.join(dir, nameFromBytes(raw));
    const sums = await pool.sums([odd, path.join(dir, 'plain')]);
    expect(sums).toEqual([await fileSha256(odd), await fileSha256(path.join(dir, 'plain'))]);
    expect(sums?.[0]).toMatchObject({ size: 3 });
    const blocks = await pool.blocks([odd], [3], BLOCK);
    expect(blocks?.[0]?.sha256).toBe((sums?.[0] as { sha256: string }).sha256);
  });

  it('follows each path as an open of the whole path would, directory after directory', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-hpool-'));
    for (const d of ['a', 'b']) {
      mkdirSync(path.join(dir, d));
      writeFileSync(path.join(dir, d, 'f'), `in ${d}`);
    }
    writeFileSync(path.join(dir, 'top'), 'top');
    symlinkSync('b', path.join(dir, 'via')); // a link before the last name is followed
    // A path a few bytes short of PATH_MAX.
    const deep = path.join(dir, ...Array.from({ length: 20 }, () => 'd'.repeat(200)));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'f'), 'deep');
    const inDir = (...p: string[]) => path.join(dir, ...p);
    const paths = [
      inDir('a', 'f'),
      inDir('b', 'f'),
      inDir('a', 'f'),
      inDir('top'),
      inDir('via', 'f'),
      inDir('gone', 'f'),
      inDir('top', 'f'),
      inDir('a', 'gone'),
      path.join(deep, 'f'),
      inDir('b', 'f'),
    ];
    const want = await Promise.all(paths.map((p) => fileSha256(p).catch(() => 'error')));
    const got = await pool.sums(paths);
    expect(got?.slice(0, 5)).toEqual(want.slice(0, 5));
    expect(got?.slice(5, 8)).toEqual([null, null, null]);
    expect(got?.slice(8)).toEqual(want.slice(8));
    expect(got?.[8]).toMatchObject({ size: 4 });
    const sizes = paths.map(() => 4);
    const blocks = await pool.blocks(paths, sizes, BLOCK);
    expect(blocks?.map((b) => b?.sha256 ?? null)).toEqual([
      ...paths
        .slice(0, 5)
        .map((p, i) =>
          hashSmallStat(p, BLOCK, sizes[i] as number)
            ? (got?.[i] as { sha256: string }).sha256
            : null,
        ),
      null,
      null,
      null,
      (got?.[8] as { sha256: string }).sha256,
      (got?.[9] as { sha256: string }).sha256,
    ]);
  });

  it('answers null once closed (the caller hashes inline)', async () => {
    const p = new HashPool(plan);
    p.close();
    expect(await p.sums(['/etc/hostname'])).toBeNull();
  });
});
