// Every operation kind, replicated live between real daemons on loopback, trees compared.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

describe('live replication', () => {
  it('replicates every operation kind and the trees end equal', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'pre-existing.txt'), 'was here before connect\n');
    await write(path.join(dir, 'sub', 'old.bin'), Buffer.alloc(100_000, 1));
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    const replica = path.join(t.root, 'web');
    await expectSameTree(dir, replica);

    // create, empty file, deep tree, unicode and spaces
    await write(path.join(dir, 'empty'), '');
    await write(path.join(dir, 'a', 'b', 'c', 'd', 'e', 'f', 'deep.txt'), 'deep');
    await write(path.join(dir, 'name with spaces — ünïcødé 日本.txt'), 'unicode');
    // write in place (one block of a larger file), append, truncate
    const big = path.join(dir, 'big.bin');
    await write(big, Buffer.alloc(2 * 1024 * 1024, 3));
    await waitSynced(s, 'web');
    const fh = await fsp.open(big, 'r+');
    await fh.write(Buffer.from('patched'), 0, 7, 1_000_000);
    await fh.close();
    await fsp.appendFile(path.join(dir, 'pre-existing.txt'), 'appended\n');
    await fsp.truncate(path.join(dir, 'sub', 'old.bin'), 10);
    // mkdir, rmdir, delete, rename file, rename directory, symlink, chmod, mtime
    await fsp.mkdir(path.join(dir, 'newdir'));
    await fsp.mkdir(path.join(dir, 'gone-dir', 'x'), { recursive: true });
    await write(path.join(dir, 'gone-dir', 'x', 'f'), 'f');
    await waitSynced(s, 'web');
    await fsp.rm(path.join(dir, 'gone-dir'), { recursive: true });
    // A directory replaced by a new one of the same name: its old entries must go on the target.
    await fsp.rm(path.join(dir, 'sub'), { recursive: true });
    await fsp.mkdir(path.join(dir, 'sub'));
    await write(path.join(dir, 'sub', 'fresh.txt'), 'in the new directory');
    await fsp.rm(path.join(dir, 'empty'));
    await fsp.rename(
      path.join(dir, 'name with spaces — ünïcødé 日本.txt'),
      path.join(dir, 'renamed.txt'),
    );
    await fsp.rename(path.join(dir, 'a'), path.join(dir, 'a2'));
    await fsp.symlink('renamed.txt', path.join(dir, 'link'));
    await fsp.symlink('/etc/passwd', path.join(dir, 'abs-link'));
    await fsp.chmod(path.join(dir, 'renamed.txt'), 0o640);
    await fsp.utimes(
      path.join(dir, 'pre-existing.txt'),
      new Date('2020-01-01'),
      new Date('2020-01-01'),
    );
    await waitSynced(s, 'web');
    await expectSameTree(dir, replica);
    const st = await fsp.stat(path.join(replica, 'pre-existing.txt'));
    expect(Math.abs(st.mtimeMs - new Date('2020-01-01').getTime())).toBeLessThan(2);
    expect(await fsp.readlink(path.join(replica, 'abs-link'))).toBe('/etc/passwd');
  });

  it('sends only changed blocks for an in-place write and does not resend a renamed big file', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    await write(path.join(dir, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 9));
    await waitSynced(s, 'web');
    const status = async (): Promise<{ sent: { bytes: number } }> => {
      const { smr } = await import('../helpers/harness.js');
      return (await smr(['status', 'web', '--json', '--state-dir', s.stateDir])).json;
    };
    const before = (await status()).sent.bytes;
    const fh = await fsp.open(path.join(dir, 'big.bin'), 'r+');
    await fh.write(Buffer.from('x'), 0, 1, 4 * 1024 * 1024 + 5);
    await fh.close();
    await waitSynced(s, 'web');
    const afterWrite = (await status()).sent.bytes;
    expect(afterWrite - before).toBeLessThanOrEqual(64 * 1024);
    await fsp.mkdir(path.join(dir, 'moved'));
    await fsp.rename(path.join(dir, 'big.bin'), path.join(dir, 'moved', 'big-renamed.bin'));
    await waitSynced(s, 'web');
    const afterRename = (await status()).sent.bytes;
    expect(afterRename - afterWrite).toBeLessThan(64 * 1024);
    await expectSameTree(dir, path.join(t.root, 'web'));
  });

  it('feeds two connections into one target and one source into two targets', async () => {
    const t1 = await startTarget();
    const t2 = await startTarget();
    const s1 = await startSource();
    const s2 = await startSource();
    const d1 = await tmp('smr-src-');
    const d2 = await tmp('smr-src-');
    await write(path.join(d1, 'one.txt'), 'one');
    await write(path.join(d2, 'two.txt'), 'two');
    // Many-to-one: two sources into t1.
    await connect(s1, 'app1', t1, d1);
    const { smr } = await import('../helpers/harness.js');
    const r = await smr([
      'connect',
      'app2',
      '--to',
      t1.addr,
      '--path',
      d2,
      '--key-file',
      t1.keyFile as string,
      '--state-dir',
      s2.stateDir,
      '--json',
    ]);
    expect(r.code).toBe(0);
    // One-to-many: s1 also sends d1 to t2 under another name (same key file as t2).
    const r2 = await smr([
      'connect',
      'app1-dr',
      '--to',
      t2.addr,
      '--path',
      d1,
      '--target-path',
      'dr/app1',
      '--key-file',
      t2.keyFile as string,
      '--state-dir',
      s1.stateDir,
      '--json',
    ]);
    expect(r2.code).toBe(0);
    await write(path.join(d1, 'later', 'x.txt'), 'later');
    await write(path.join(d2, 'later', 'y.txt'), 'later too');
    await waitSynced(s1, 'app1');
    await waitSynced(s1, 'app1-dr');
    await waitSynced(s2, 'app2');
    await expectSameTree(d1, path.join(t1.root, 'app1'));
    await expectSameTree(d2, path.join(t1.root, 'app2'));
    await expectSameTree(d1, path.join(t2.root, 'dr', 'app1'));
  });
});
