// Confinement against a real directory: wire paths never reach through a symlink or a file, and a
// replica base under --root never escapes it.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { Confiner, resolveReplicaBase } from '../../../src/target/confine.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';

let tmp: string;
let base: string;
let outside: string;

beforeEach(async () => {
  tmp = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-confine-')));
  base = path.join(tmp, 'replica');
  outside = path.join(tmp, 'outside');
  await fsp.mkdir(base);
  await fsp.mkdir(outside);
});

afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (err: unknown) => (err instanceof SmrError ? err.code : `not-smr-error: ${String(err)}`),
  );
}

const isDir = async (p: string): Promise<boolean> =>
  (await fsp.lstat(p).catch(() => null))?.isDirectory() ?? false;

describe('Confiner.resolve', () => {
  it('returns the path below the base for plain paths, existing or not', async () => {
    await fsp.mkdir(path.join(base, 'a/b'), { recursive: true });
    const cf = new Confiner(base, new ModePolicy(false));
    expect(await cf.resolve('a/b/f.txt')).toBe(path.join(base, 'a', 'b', 'f.txt'));
    expect(await cf.resolve('top.txt')).toBe(path.join(base, 'top.txt'));
    // Missing parents are fine: ensureParent creates them later.
    expect(await cf.resolve('a/missing/deeper/f')).toBe(path.join(base, 'a/missing/deeper/f'));
    expect(await cf.resolve('none/at/all')).toBe(path.join(base, 'none/at/all'));
  });

  it('refuses a path through a symlinked directory pointing outside', async () => {
    await fsp.symlink(outside, path.join(base, 'out'));
    const cf = new Confiner(base, new ModePolicy(false));
    expect(await codeOf(cf.resolve('out/evil.txt'))).toBe('path-refused');
    expect(await codeOf(cf.resolve('out/x/y'))).toBe('path-refused');
    expect(await fsp.readdir(outside)).toEqual([]);
  });

  it('refuses a path through a symlinked directory pointing inside too', async () => {
    await fsp.mkdir(path.join(base, 'real'));
    await fsp.symlink(path.join(base, 'real'), path.join(base, 'alias'));
    await fsp.symlink('real', path.join(base, 'relalias'));
    const cf = new Confiner(base, new ModePolicy(false));
    expect(await codeOf(cf.resolve('alias/f'))).toBe('path-refused');
    expect(await codeOf(cf.resolve('relalias/f'))).toBe('path-refused');
    expect(await cf.resolve('real/f')).toBe(path.join(base, 'real/f'));
  });

  it('refuses a path through a symlink deeper down', async () => {
    await fsp.mkdir(path.join(base, 'a/b'), { recursive: true });
    await fsp.symlink(outside, path.join(base, 'a/b/link'));
    const cf = new Confiner(base, new ModePolicy(false));
    expect(await codeOf(cf.resolve('a/b/link/f'))).toBe('path-refused');
  });

  it('refuses a path through a regular file', async () => {
    await fsp.writeFile(path.join(base, 'file'), 'x');
    const cf = new Confiner(base, new ModePolicy(false));
    expect(await codeOf(cf.resolve('file/child'))).toBe('path-refused');
  });

  it('refuses unsafe wire paths before touching the disk', async () => {
    const cf = new Confiner(base, new ModePolicy(false));
    for (const p of ['../outside/x', '/etc/passwd', 'a/../../x', '', 'a//b']) {
      expect(await codeOf(cf.resolve(p)), p).toBe('path-refused');
    }
  });

  it('allows the last component itself to be a symlink (ops never follow it)', async () => {
    await fsp.symlink(outside, path.join(base, 'link'));
    expect(await new Confiner(base, new ModePolicy(false)).resolve('link')).toBe(
      path.join(base, 'link'),
    );
  });

  it('catches a symlink created after the parent was proven, once invalidated', async () => {
    await fsp.mkdir(path.join(base, 'd'));
    const cf = new Confiner(base, new ModePolicy(false));
    await cf.resolve('d/f');
    await fsp.rm(path.join(base, 'd'), { recursive: true });
    await fsp.symlink(outside, path.join(base, 'd'));
    cf.invalidate();
    expect(await codeOf(cf.resolve('d/f'))).toBe('path-refused');
  });

  // Paths are built by concatenation after the base as path.join gives it (one '/' after it),
  // and one whose directory is proven is answered from that proof: the same paths as path.join.
  it('gives the paths path.join gives, from a base written with a trailing slash or a dot', async () => {
    await fsp.mkdir(path.join(base, 'a/b'), { recursive: true });
    for (const b of [`${base}/`, `${base}/.`, `${base}//`]) {
      const cf = new Confiner(b, new ModePolicy(false));
      for (let i = 0; i < 2; i++) {
        expect(await cf.resolve('a/b/f')).toBe(path.join(base, 'a/b/f'));
        expect(await cf.resolve('top')).toBe(path.join(base, 'top'));
        expect(await cf.resolve('a/new/f')).toBe(path.join(base, 'a/new/f'));
      }
    }
    expect(await new Confiner('/', new ModePolicy(false)).resolve('x/y')).toBe('/x/y');
  });
});

describe('Confiner.ensureParent', () => {
  it('creates nested parent directories', async () => {
    const cf = new Confiner(base, new ModePolicy(false));
    const abs = await cf.resolve('x/y/z/f.txt');
    await cf.ensureParent(abs);
    expect(await isDir(path.join(base, 'x/y/z'))).toBe(true);
    expect(await fsp.readdir(path.join(base, 'x/y/z'))).toEqual([]);
    // Idempotent, and a no-op for files directly in the base.
    await cf.ensureParent(abs);
    await cf.ensureParent(await cf.resolve('top'));
    expect((await fsp.readdir(base)).sort()).toEqual(['x']);
  });

  it('replaces a file standing where a directory must be', async () => {
    await fsp.mkdir(path.join(base, 'a'));
    await fsp.writeFile(path.join(base, 'a/b'), 'in the way');
    const cf = new Confiner(base, new ModePolicy(false));
    // resolve refuses the path while 'a/b' is a file, so the caller builds the path itself here
    // (as ops do after the source says a directory exists there).
    const abs = path.join(base, 'a/b/c/f');
    await cf.ensureParent(abs);
    expect(await isDir(path.join(base, 'a/b'))).toBe(true);
    expect(await isDir(path.join(base, 'a/b/c'))).toBe(true);
  });

  it('replaces a symlink standing where a directory must be, without touching its target', async () => {
    await fsp.writeFile(path.join(outside, 'keep'), 'k');
    await fsp.symlink(outside, path.join(base, 'd'));
    const cf = new Confiner(base, new ModePolicy(false));
    await cf.ensureParent(path.join(base, 'd/f'));
    expect(await isDir(path.join(base, 'd'))).toBe(true);
    expect((await fsp.lstat(path.join(base, 'd'))).isSymbolicLink()).toBe(false);
    expect(await fsp.readFile(path.join(outside, 'keep'), 'utf8')).toBe('k');
  });
});

describe('resolveReplicaBase', () => {
  it('refuses .., absolute and empty target paths', async () => {
    for (const p of ['..', '../x', 'a/../../x', '/abs', '', 'a//b']) {
      expect(await codeOf(resolveReplicaBase(base, p, true)), p).toBe('path-refused');
    }
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it('refuses symlinked and non-directory components', async () => {
    await fsp.symlink(outside, path.join(base, 'link'));
    await fsp.mkdir(path.join(base, 'real'));
    await fsp.symlink(path.join(base, 'real'), path.join(base, 'inner'));
    await fsp.writeFile(path.join(base, 'file'), 'x');
    expect(await codeOf(resolveReplicaBase(base, 'link', true))).toBe('path-refused');
    expect(await codeOf(resolveReplicaBase(base, 'link/sub', true))).toBe('path-refused');
    expect(await codeOf(resolveReplicaBase(base, 'inner', false))).toBe('path-refused');
    expect(await codeOf(resolveReplicaBase(base, 'file', true))).toBe('path-refused');
    expect(await fsp.readdir(outside)).toEqual([]);
  });

  it('creates missing components only when asked', async () => {
    const want = path.join(base, 'apps', 'web');
    expect(await resolveReplicaBase(base, 'apps/web', false)).toBe(want);
    expect(await isDir(path.join(base, 'apps'))).toBe(false);
    expect(await resolveReplicaBase(base, 'apps/web', true)).toBe(want);
    expect(await isDir(want)).toBe(true);
    // An existing real directory resolves as is.
    expect(await resolveReplicaBase(base, 'apps/web', false)).toBe(want);
  });
});
