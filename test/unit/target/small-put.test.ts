// Whole small files through applyPut's synchronous way (target/small-put.ts): as root, owner,
// mode and the ns mtime set on the descriptor; a temp file that picked up xattrs (a leftover of
// an earlier attempt, a directory's default ACL) is cleaned by the general attribute path; a
// directory in the way is replaced; not root, what cannot be set is counted.
import { chownSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../../src/shared/log.js';
import { Confiner } from '../../../src/target/confine.js';
import { applyMkdir, applyPut } from '../../../src/target/ops.js';
import { euidChanged } from '../../../src/target/small-put.js';
import { tempNameFor } from '../../../src/target/temp-files.js';
import { run, toolAcl, toolXattrs } from '../fsmeta-tools.js';
import { scratchReplicas } from '../../helpers/replica.js';

const replica = scratchReplicas('smr-small-put');
afterEach(() => {
  vi.restoreAllMocks();
});

const NS = '1700000000123456789';
const plain = { uid: 4321, gid: 4322, ns: NS, x: [], acl: {} };

function put(cf: Confiner, seq: number, p: string, data: string, a: object = plain) {
  const body = Buffer.from(data);
  const meta = { p, off: 0, first: true, end: true, size: body.length, mode: 0o640 };
  return applyPut(cf, seq, { ...meta, mtime: 1700000000123, a }, body);
}

describe('a small whole file', () => {
  it('as root lands with owner, mode and the ns mtime, and no temp file left', async () => {
    const { base, cf } = replica();
    await put(cf, 1, 'f', 'hello');
    const st = lstatSync(path.join(base, 'f'), { bigint: true });
    expect(readFileSync(path.join(base, 'f'), 'utf8')).toBe('hello');
    expect([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n)]).toEqual([
      4321, 4322, 0o640,
    ]);
    expect(st.mtimeNs).toBe(BigInt(NS));
    expect(run('ls', ['-A', base]).trim()).toBe('f');
    expect(cf.refusals.total).toBe(0);
  });

  it('sets an ns mtime before 1970 on the descriptor exactly (the floor of its seconds)', async () => {
    const { base, cf } = replica();
    await put(cf, 1, 'f', 'old', { ...plain, ns: '-1500000001' });
    expect(lstatSync(path.join(base, 'f'), { bigint: true }).mtimeNs).toBe(-1500000001n);
  });

  it('loses the xattrs a leftover temp file of the same seq had', async () => {
    const { base, cf } = replica();
    const tmp = tempNameFor(path.join(base, 'f'), 7);
    writeFileSync(tmp, 'old');
    run('setfattr', ['-n', 'user.stale', '-v', '1', tmp]);
    await put(cf, 7, 'f', 'new');
    expect(toolXattrs(path.join(base, 'f')).has('user.stale')).toBe(false);
    expect(readFileSync(path.join(base, 'f'), 'utf8')).toBe('new');
  });

  it("loses the access ACL its directory's default ACL gave it", async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'd'));
    run('setfacl', ['-d', '-m', 'u:4321:rwx', path.join(base, 'd')]);
    await put(cf, 1, 'd/f', 'x');
    expect(toolAcl(path.join(base, 'd')).some((l) => l.startsWith('default:user:4321'))).toBe(true);
    expect(toolXattrs(path.join(base, 'd', 'f')).has('system.posix_acl_access')).toBe(false);
    const st = lstatSync(path.join(base, 'd', 'f'));
    expect(st.mode & 0o7777).toBe(0o640);
  });

  it('replaces a directory that stands at its path', async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'f', 'sub'), { recursive: true });
    writeFileSync(path.join(base, 'f', 'sub', 'g'), 'g');
    const out = await put(cf, 1, 'f', 'file now');
    expect(out.structural).toBe(true);
    expect(readFileSync(path.join(base, 'f'), 'utf8')).toBe('file now');
  });

  // The chown is left out when the new file has the wanted owner already: its owner is still
  // exact whether it was created with ours, or with a setgid directory's group.
  it('as root lands with the owner asked for, whatever group its directory hands down', async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'g'));
    chownSync(path.join(base, 'g'), 0, 4322);
    run('chmod', ['g+s', path.join(base, 'g')]);
    await put(cf, 1, 'g/other', 'a', { ...plain, uid: 0, gid: 0 });
    await put(cf, 2, 'g/same', 'b', { ...plain, uid: 0, gid: 4322 });
    await put(cf, 3, 'ours', 'c', { ...plain, uid: 0, gid: 0 });
    const owner = (p: string) => {
      const st = lstatSync(path.join(base, p));
      return [st.uid, st.gid, st.mode & 0o7777];
    };
    expect(owner('g/other')).toEqual([0, 0, 0o640]);
    expect(owner('g/same')).toEqual([0, 4322, 0o640]);
    expect(owner('ours')).toEqual([0, 0, 0o640]);
  });

  it('not root: the owner it may not set is counted, the rest lands', async () => {
    const { base, cf } = replica();
    chownSync(base, 65534, 65534);
    vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const groups = process.getgroups!();
    process.setgroups!([65534]);
    process.setegid!(65534);
    process.seteuid!(65534);
    euidChanged();
    try {
      await put(cf, 1, 'f', 'x');
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
      process.setgroups!(groups);
      euidChanged();
    }
    const st = lstatSync(path.join(base, 'f'), { bigint: true });
    expect(Number(st.uid)).toBe(65534);
    expect(st.mtimeNs).toBe(BigInt(NS));
    expect(cf.refusals.counts.owner).toBe(1);
  });
});

// A directory made by a mirror (target/small-put.ts, newDirSync): as root, mkdir, owner, mode
// and the ns mtime by path with no stat before or after; one that inherits a default ACL, or a
// path something stands at already, goes the general way.
describe('a new directory', () => {
  const dirMeta = (p: string, a: object = plain) => ({ p, mode: 0o2750, a });
  const attrsOf = (p: string) => {
    const st = lstatSync(p, { bigint: true });
    return [Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n), st.mtimeNs];
  };

  it('as root is made with owner, mode (setgid kept) and the ns mtime', async () => {
    const { base, cf } = replica();
    const out = await applyMkdir(cf, dirMeta('d'));
    expect(out).toEqual({ touched: [base], structural: false });
    expect(attrsOf(path.join(base, 'd'))).toEqual([4321, 4322, 0o2750, BigInt(NS)]);
    // Proven and free of temp files: its files' puts look at it no further.
    await put(cf, 1, 'd/f', 'x');
    expect(run('ls', ['-A', path.join(base, 'd')]).trim()).toBe('f');
  });

  it("loses the ACLs its parent's default ACL gave it, when the source has none", async () => {
    const { base, cf } = replica();
    mkdirSync(path.join(base, 'p'));
    run('setfacl', ['-d', '-m', 'u:4321:rwx', path.join(base, 'p')]);
    await applyMkdir(cf, dirMeta('p/d'));
    const names = toolXattrs(path.join(base, 'p', 'd'));
    expect(names.has('system.posix_acl_default')).toBe(false);
    expect(names.has('system.posix_acl_access')).toBe(false);
    expect(attrsOf(path.join(base, 'p', 'd'))).toEqual([4321, 4322, 0o2750, BigInt(NS)]);
  });

  it('replaces a file that stands at its path, and sets a directory found there', async () => {
    const { base, cf } = replica();
    writeFileSync(path.join(base, 'f'), 'in the way');
    mkdirSync(path.join(base, 'd'));
    expect((await applyMkdir(cf, dirMeta('f'))).structural).toBe(true);
    expect((await applyMkdir(cf, dirMeta('d'))).structural).toBe(false);
    expect(attrsOf(path.join(base, 'f'))).toEqual([4321, 4322, 0o2750, BigInt(NS)]);
    expect(attrsOf(path.join(base, 'd'))).toEqual([4321, 4322, 0o2750, BigInt(NS)]);
  });
});

describe('temp file names', () => {
  // Leftovers of an abandoned transfer are found by this prefix (temp-files.ts, clear): it must
  // stay the first 8 hex digits of the sha256 of the name's bytes, whatever computes it.
  it('carry the first 8 hex digits of the sha256 of the file name', () => {
    const sha8 = createHash('sha256').update('f.dat').digest('hex').slice(0, 8);
    expect(tempNameFor('/r/d/f.dat', 7)).toBe(`/r/d/.smr-tmp-${sha8}-7`);
    // Where the name has no directory but the root, or none at all, as path.join put it.
    expect(tempNameFor('/f.dat', 7)).toBe(`/.smr-tmp-${sha8}-7`);
    expect(tempNameFor('f.dat', 7)).toBe(`.smr-tmp-${sha8}-7`);
  });
});
