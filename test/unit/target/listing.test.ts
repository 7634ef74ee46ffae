// The target's listing of its replica: fifos, sockets and devices only when the peer asked for
// them (an older source does not know their letters), devices with their number. Runs as root
// (CI does): mknod of a device needs it.
import { execFileSync } from 'node:child_process';
import {
  linkSync,
  lstatSync,
  promises as fsp,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { listTree } from '../../../src/target/listing.js';
import { attrStampOf, readMetaSync } from '../../../src/fsmeta/index.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

async function list(base: string, specials: boolean): Promise<Map<string, ListEntry>> {
  const out = new Map<string, ListEntry>();
  await listTree(
    base,
    async (items) => {
      for (const e of items) out.set(e.path, e);
    },
    specials,
  );
  return out;
}

describe('listTree', () => {
  it('lists special entries only when asked, a device with [major, minor]', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-list-'));
    await fsp.writeFile(path.join(dir, 'f'), 'x');
    execFileSync('mkfifo', ['-m', '0640', path.join(dir, 'p')]);
    execFileSync('mknod', ['-m', '0620', path.join(dir, 'c'), 'c', '1', '3']);
    expect([...(await list(dir, false)).keys()]).toEqual(['f']);
    const all = await list(dir, true);
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
    const all = await list(dir, false);
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
    const plain = await list(dir, false);
    expect([...plain.keys()].sort()).toEqual(['a', 'a/b', 'a/b/f', 'top']);
    expect(plain.get('a/b/f')).toMatchObject({ type: 'file', size: 4 });
    expect(plain.get('a/b')).toMatchObject({ type: 'dir', size: 0 });
    expect(await list(`${dir}/`, false)).toEqual(plain);
  });
});
