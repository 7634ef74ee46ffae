// A replica big enough for the target to list it on its worker threads (past its first 4,096
// names: src/target/list-dirs.ts): a checksum mirror still finds every kind of difference the
// listing carries — content behind an equal size and mtime, an owner, an xattr, a mode, an
// orphan — and repairs them. Checked with an independent walk and lstat, not with smr's verify.
import { execFileSync } from 'node:child_process';
import { mkdirSync, promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const xattr = (file: string, name: string): string =>
  execFileSync('getfattr', ['--only-values', '-n', name, file], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();

const hasXattr = (file: string, name: string): boolean => {
  try {
    xattr(file, name);
    return true;
  } catch {
    return false;
  }
};

describe('checksum mirror of a replica the target lists on workers', () => {
  it('repairs content, owner, xattr and mode differences and deletes orphans', async () => {
    const t = await startTarget();
    const s = await startSource(await tmp('smr-sstate-'));
    const src = await tmp('smr-src-');
    const DIRS = 50;
    for (let d = 0; d < DIRS; d++) {
      mkdirSync(path.join(src, `d${d}`));
      for (let f = 0; f < 100; f++)
        writeFileSync(path.join(src, `d${d}`, `f${f}`), `file ${d}/${f}\n`);
      execFileSync('setfattr', ['-n', 'user.keep', '-v', 'yes', path.join(src, `d${d}`, 'f6')]);
    }
    await connect(s, 'm', t, src);
    await waitSynced(s, 'm');
    const rep = path.join(t.root, 'm');
    expect(xattr(path.join(rep, 'd7', 'f6'), 'user.keep')).toBe('yes');

    // The same damage in every directory: which ones the workers list depends on readdir's order.
    for (let d = 0; d < DIRS; d++) {
      const at = (f: string): string => path.join(rep, `d${d}`, f);
      // Same size and mtime, other bytes: only the checksum can see it.
      const { mtime } = await fsp.stat(at('f3'));
      await fsp.writeFile(at('f3'), `FILE ${d}/3\n`);
      await fsp.utimes(at('f3'), mtime, mtime);
      await fsp.chown(at('f4'), 1234, 4321);
      execFileSync('setfattr', ['-x', 'user.keep', at('f6')]);
      execFileSync('setfattr', ['-n', 'user.extra', '-v', 'x', at('f7')]);
      await fsp.chmod(at('f8'), 0o600);
      await write(at('orphan'), 'only here\n');
    }

    const m = await smr(
      ['mirror', 'start', 'm', '--mode', 'checksum', '--delete-orphans', '--wait', '--json'].concat(
        ['--state-dir', s.stateDir],
      ),
    );
    expect(m.code, m.stderr).toBe(0);
    expect(m.json.mirror.state).toBe('complete');
    await expectSameTree(src, rep);
    for (let d = 0; d < DIRS; d++) {
      const [a, b] = await Promise.all([
        fsp.lstat(path.join(src, `d${d}`, 'f4')),
        fsp.lstat(path.join(rep, `d${d}`, 'f4')),
      ]);
      expect([b.uid, b.gid]).toEqual([a.uid, a.gid]);
      expect(xattr(path.join(rep, `d${d}`, 'f6'), 'user.keep')).toBe('yes');
      expect(hasXattr(path.join(rep, `d${d}`, 'f7'), 'user.extra')).toBe(false);
    }
  }, 180_000);
});
