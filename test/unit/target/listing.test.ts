// The target's listing of its replica: fifos, sockets and devices only when the peer asked for
// them (an older source does not know their letters), devices with their number. Runs as root
// (CI does): mknod of a device needs it. Every case runs twice: listed on this thread, and by the
// listing's worker threads from the first name (list-dirs.ts); a mixed tree lists the same both ways.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  promises as fsp,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { listTree, nsText } from '../../../src/target/listing.js';
import { attrStampOf, readMetaSync } from '../../../src/fsmeta/index.js';
import { lsetxattr } from '../../../src/fsmeta/libc.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

/** Names listed on this thread before the workers start: never, or from the first. */
const WAYS = [
  ['inline', Infinity],
  ['by workers', 0],
] as const;

async function list(
  base: string,
  specials: boolean,
  inlineFirst: number,
): Promise<Map<string, ListEntry>> {
  const out = new Map<string, ListEntry>();
  await listTree(
    base,
    async (items) => {
      for (const e of items) {
        // Each parent before what is below it, whichever way it was listed.
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : null;
        if (parent !== null) expect(out.has(parent)).toBe(true);
        out.set(e.path, e);
      }
    },
    specials,
    inlineFirst,
  );
  return out;
}

describe('listTree, inline and by workers alike', () => {
  it('lists a mixed tree the same both ways', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    const at = (...p: string[]) => path.join(dir, ...p);
    mkdirSync(at('a', 'b', 'c'), { recursive: true });
    mkdirSync(at('empty'));
    mkdirSync(at('été'));
    for (let i = 0; i < 40; i++) {
      const f = at(i % 2 ? 'a' : 'a/b', `f${i}`);
      writeFileSync(f, 'y'.repeat(i * 37));
      utimesSync(f, 1.6e9 + i * 0.000123, 1.6e9 + i * 1.000000321);
    }
    writeFileSync(at('été', 'naïve'), 'u');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/bad-`), Buffer.of(0xff, 0xfe)]), 'raw');
    writeFileSync(at('a', '.smr-tmp-half'), 'tmp');
    chownSync(at('a', 'f1'), 1234, 5678);
    chownSync(at('a', 'b'), 42, 43);
    lsetxattr(at('a', 'f3'), Buffer.from('user.k'), Buffer.from('v'));
    lsetxattr(at('a', 'b', 'c'), Buffer.from('user.d'), Buffer.from('w'));
    execFileSync('setfacl', ['-m', 'u:1234:r', at('a', 'f5')]);
    linkSync(at('a', 'f7'), at('a', 'b', 'hard'));
    symlinkSync('../f1', at('a', 'b', 'ln'));
    execFileSync('mkfifo', [at('a', 'p')]);
    utimesSync(at('a', 'f9'), -1.5, -1.5);
    utimesSync(at('a', 'f11'), 0, 0);
    for (const specials of [false, true]) {
      const inline = await list(dir, specials, Infinity);
      expect(inline.size).toBe(specials ? 50 : 49);
      expect(inline.has('a/.smr-tmp-half')).toBe(false);
      expect(inline.get('a/f3')?.attrs).not.toMatch(/::$/);
      expect(await list(dir, specials, 0)).toEqual(inline);
    }
  });

  it('writes a ns time as a BigInt does', () => {
    const cases: Array<[number, number]> = [
      [0, 0],
      [0, 5],
      [1, 0],
      [1, 999_999_999],
      [1_600_000_000, 123],
      [-1, 500_000_000],
      [-2, 0],
    ];
    for (const [sec, nsec] of cases)
      expect(nsText(sec, nsec)).toBe((BigInt(sec) * 1_000_000_000n + BigInt(nsec)).toString());
  });
});

describe.each(WAYS)('listTree (%s)', (_, inlineFirst) => {
  it('lists special entries only when asked, a device with [major, minor]', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    await fsp.writeFile(path.join(dir, 'f'), 'x');
    execFileSync('mkfifo', ['-m', '0640', path.join(dir, 'p')]);
    execFileSync('mknod', ['-m', '0620', path.join(dir, 'c'), 'c', '1', '3']);
    expect([...(await list(dir, false, inlineFirst)).keys()]).toEqual(['f']);
    const all = await list(dir, true, inlineFirst);
    expect(all.get('p')).toMatchObject({ type: 'fifo', size: 0, mode: 0o640 });
    expect(all.get('p')?.rdev).toBeUndefined();
    expect(all.get('p')?.attrs).toMatch(/^0:0:\d+:/);
    expect(all.get('c')).toMatchObject({ type: 'char', mode: 0o620, rdev: [1, 3] });
  });

  it('says of each entry what an lstat and readMetaSync say (one bigint lstat serves both)', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    // Times with sub-ms parts, before 1970 and far ahead: the ms a Stats computes, exactly.
    const times = [1.5e9 + 0.123456789, 1234567890.25, -12345.678901, 4102444800.000001, 0];
    times.forEach((t, i) => {
      const f = path.join(dir, `f${i}`);
      writeFileSync(f, 'x'.repeat(i * 100));
      utimesSync(f, t, t);
    });
    linkSync(path.join(dir, 'f1'), path.join(dir, 'hard'));
    symlinkSync('f0', path.join(dir, 'ln'));
    await fsp.mkdir(path.join(dir, 'd'));
    const all = await list(dir, false, inlineFirst);
    expect([...all.keys()].sort()).toEqual(['d', 'f0', 'f1', 'f2', 'f3', 'f4', 'hard', 'ln']);
    for (const [rel, e] of all) {
      const abs = path.join(dir, rel);
      const st = lstatSync(abs);
      expect(e.mtimeMs).toBe(st.mtimeMs);
      expect(e.mode).toBe(st.mode & 0o7777);
      if (e.type === 'file') expect(e.size).toBe(st.size);
      expect(e.attrs).toBe(attrStampOf(readMetaSync(abs)));
    }
    expect(all.get('f1')?.inode).toBe(all.get('hard')?.inode);
    expect(all.get('f1')?.inode).toBe(
      `${lstatSync(path.join(dir, 'f1')).dev}:${lstatSync(path.join(dir, 'f1')).ino}`,
    );
    expect(all.get('f0')?.inode).toBeUndefined();
    expect(all.get('ln')).toMatchObject({ type: 'symlink', link: 'f0' });
  });

  it('lists nested directories the same whether the base ends with a separator or not', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    await fsp.mkdir(path.join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(dir, 'a', 'b', 'f'), 'deep');
    writeFileSync(path.join(dir, 'top'), 'x');
    const plain = await list(dir, false, inlineFirst);
    expect([...plain.keys()].sort()).toEqual(['a', 'a/b', 'a/b/f', 'top']);
    expect(plain.get('a/b/f')).toMatchObject({ type: 'file', size: 4 });
    expect(plain.get('a/b')).toMatchObject({ type: 'dir', size: 0 });
    expect(await list(`${dir}/`, false, inlineFirst)).toEqual(plain);
  });
});
