// The chown and chmod a `files` op's new root-owned file is spared (target/new-files.ts) only
// where they would change nothing: each case here is one where leaving them out would leave a
// wrong mode or owner (a umask, a minimal default ACL, a setgid directory, a leftover temp file).
import {
  chownSync,
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { futimensMtimeText } from '../../../src/fsmeta/index.js';
import { Confiner } from '../../../src/target/confine.js';
import { NewFiles, umask } from '../../../src/target/new-files.js';
import { applyPut } from '../../../src/target/ops.js';
import { tempNameFor } from '../../../src/target/temp-files.js';
import { run, toolXattrs } from '../fsmeta-tools.js';
import { scratchReplicas } from '../../helpers/replica.js';

const replica = scratchReplicas('smr-new-files');

const NS = '1700000000123456789';
const ROOT = { uid: 0, gid: 0, ns: NS, x: [], acl: {} };

/** One file of a `files` op: the op's NewFiles is shared by its files. */
function put(cf: Confiner, nf: NewFiles, seq: number, p: string, mode: number, a: object = ROOT) {
  const body = Buffer.from(p);
  const meta = { p, off: 0, first: true, end: true, size: body.length, mode, a };
  return applyPut(cf, seq, { ...meta, mtime: 1700000000123 }, body, nf);
}

function attrs(p: string): [number, number, number, bigint] {
  const st = lstatSync(p, { bigint: true });
  return [Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n), st.mtimeNs];
}

const root = process.geteuid?.() === 0;

describe.skipIf(!root)("a files op's new root-owned files", () => {
  it('land with mode, owner and ns mtime, the second in a directory as exactly as the first', async () => {
    const { base, cf } = replica();
    const nf = new NewFiles();
    for (const [i, m] of [0o644, 0o600, 0o755].entries()) await put(cf, nf, i + 1, `f${i}`, m);
    expect(attrs(path.join(base, 'f0'))).toEqual([0, 0, 0o644, BigInt(NS)]);
    expect(attrs(path.join(base, 'f1'))).toEqual([0, 0, 0o600, BigInt(NS)]);
    expect(attrs(path.join(base, 'f2'))).toEqual([0, 0, 0o755, BigInt(NS)]);
  });

  it('get the bits the umask would take away', async () => {
    const { base, cf } = replica();
    const old = process.umask(0o077);
    try {
      const nf = new NewFiles();
      await put(cf, nf, 1, 'a', 0o644);
      await put(cf, nf, 2, 'b', 0o664);
    } finally {
      process.umask(old);
    }
    expect(attrs(path.join(base, 'a'))[2]).toBe(0o644);
    expect(attrs(path.join(base, 'b'))[2]).toBe(0o664);
  });

  // A minimal default ACL leaves no xattr on a new file, but takes the umask's place.
  it("get the bits their directory's minimal default ACL would take away", async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'd'));
    run('setfacl', ['-d', '-m', 'u::rwx,g::r-x,o::---', path.join(base, 'd')]);
    const nf = new NewFiles();
    await put(cf, nf, 1, 'd/a', 0o645);
    await put(cf, nf, 2, 'd/b', 0o777);
    expect(attrs(path.join(base, 'd', 'a'))[2]).toBe(0o645);
    expect(attrs(path.join(base, 'd', 'b'))[2]).toBe(0o777);
  });

  it('get the group asked for in a setgid directory of another group, each of them', async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'g'));
    chownSync(path.join(base, 'g'), 0, 4322);
    run('chmod', ['g+s', path.join(base, 'g')]);
    const nf = new NewFiles();
    await put(cf, nf, 1, 'g/a', 0o644);
    await put(cf, nf, 2, 'g/b', 0o644, { ...ROOT, gid: 4322 });
    await put(cf, nf, 3, 'g/c', 0o644);
    expect(attrs(path.join(base, 'g', 'a')).slice(0, 3)).toEqual([0, 0, 0o644]);
    expect(attrs(path.join(base, 'g', 'b')).slice(0, 3)).toEqual([0, 4322, 0o644]);
    expect(attrs(path.join(base, 'g', 'c')).slice(0, 3)).toEqual([0, 0, 0o644]);
  });

  // Only the first new file in a directory is asked for xattrs when it has none; with a default
  // ACL each one is, and each loses the access ACL it picked up.
  it("each lose the access ACL their directory's default ACL gives", async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'd'));
    run('setfacl', ['-d', '-m', 'u:4321:rwx', path.join(base, 'd')]);
    const nf = new NewFiles();
    for (const [i, name] of ['a', 'b', 'c'].entries()) await put(cf, nf, i + 1, `d/${name}`, 0o640);
    for (const name of ['a', 'b', 'c']) {
      expect(toolXattrs(path.join(base, 'd', name)).has('system.posix_acl_access')).toBe(false);
      expect(attrs(path.join(base, 'd', name))).toEqual([0, 0, 0o640, BigInt(NS)]);
    }
  });

  it('get owner and mode set on a temp file an earlier attempt left', async () => {
    const { base, cf } = replica();
    const nf = new NewFiles();
    await put(cf, nf, 1, 'first', 0o644); // the directory's owner rule is learned
    const tmp = tempNameFor(path.join(base, 'f'), 7);
    writeFileSync(tmp, 'old', { mode: 0o600 });
    chownSync(tmp, 4321, 4322);
    await put(cf, nf, 7, 'f', 0o644);
    expect(attrs(path.join(base, 'f'))).toEqual([0, 0, 0o644, BigInt(NS)]);
  });
});

describe('NewFiles', () => {
  it('asks for xattrs once per directory where the first new file had none, else every time', () => {
    const nf = new NewFiles();
    const asked: number[] = [];
    const has = (fd: number) => (asked.push(fd), fd >= 100);
    expect([1, 2, 3].map((fd) => nf.inherits('/plain', fd, has))).toEqual([false, false, false]);
    expect([100, 2, 101].map((fd) => nf.inherits('/acl', fd, has))).toEqual([true, false, true]);
    expect(asked).toEqual([1, 100, 2, 101]);
  });

  it('reads the umask without changing it', () => {
    const old = process.umask(0o027);
    try {
      expect(umask()).toBe(0o027);
      expect(umask()).toBe(0o027);
    } finally {
      process.umask(old);
    }
  });

  it('makes no file with setuid, setgid or sticky bits, nor with bits the umask takes', () => {
    const { base } = replica();
    const nf = new NewFiles();
    const mask = umask() ?? 0o777;
    expect(nf.createMode(base, 0o4755)).toBeUndefined();
    expect(nf.createMode(base, 0o1644)).toBeUndefined();
    expect(nf.createMode(base, 0o777)).toBe(mask === 0 ? 0o777 : undefined);
    expect(nf.createMode(base, undefined)).toBeUndefined();
  });
});

describe('futimensMtimeText', () => {
  it('sets the mtime the digits say, as the BigInt way does', () => {
    const { base } = replica();
    const f = path.join(base, 't');
    writeFileSync(f, '');
    const fd = openSync(f, 'r+');
    try {
      for (const ns of ['5', '999999999', '1000000000', NS, '-1500000001', '4102444800123456789']) {
        futimensMtimeText(fd, ns);
        expect(fstatSync(fd, { bigint: true }).mtimeNs).toBe(BigInt(ns));
      }
    } finally {
      closeSync(fd);
    }
  });
});
