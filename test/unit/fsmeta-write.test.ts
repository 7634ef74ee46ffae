// fsmeta writing: applyMetaSync leaves owner, xattrs, ACLs, mode and ns mtime equal to the source's
// (as getfattr, getfacl and stat see them); what a non-root process cannot set is returned, not lost.
import { chownSync, lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMetaSync,
  makeHardLinkSync,
  makeNodeSync,
  metaDiff,
  readMetaSync,
  setMtimeNsSync,
  type FileMeta,
} from '../../src/fsmeta/index.js';
import { removeTmpDirs, run, tmpDir, toolAcl, toolStat, toolXattrs } from './fsmeta-tools.js';

afterEach(removeTmpDirs);

// A v2 file capability (cap_net_bind_service, effective): chown drops it, so order matters.
const CAPABILITY = '0x0100000200040000000000000000000000000000';

function file(dir: string, name: string, body = 'x'): string {
  const p = path.join(dir, name);
  writeFileSync(p, body);
  return p;
}

describe('nanosecond mtimes', () => {
  it('shows that fs.utimes (seconds as a double) cannot set every nanosecond', () => {
    const f = file(tmpDir(), 'f');
    // The nearest double to 1700000000.123456789 is 1700000000.1234567165374755859375, and
    // Node 20's libuv keeps microseconds only: this sets .123456000 here.
    utimesSync(f, 1, 1_700_000_000 + 0.123456789);
    expect(lstatSync(f, { bigint: true }).mtimeNs).not.toBe(1_700_000_000_123_456_789n);
  });

  it('sets an exact ns mtime on a file, a directory and a symlink itself', () => {
    const d = tmpDir();
    const f = file(d, 'f');
    const sub = path.join(d, 'sub');
    mkdirSync(sub);
    const l = path.join(d, 'l');
    symlinkSync('f', l);
    const fBefore = toolStat(f).mtimeNs;
    for (const [p, ns] of [
      [sub, 1_700_000_000_999_999_999n],
      [l, 1_700_000_000_123_456_789n],
      [f, -1_000_000_001n],
      [sub, 0n],
      [f, 4_102_444_800_000_000_001n],
    ] as Array<[string, bigint]>) {
      if (p === l) expect(toolStat(f).mtimeNs).toBe(fBefore);
      setMtimeNsSync(p, ns);
      expect(toolStat(p).mtimeNs).toBe(ns);
    }
  });
});

describe('applyMetaSync as root', () => {
  it('makes a file’s owner, xattrs, ACL, setuid mode and mtime equal, removing extras', () => {
    const d = tmpDir();
    const src = file(d, 'src');
    run('setfattr', ['-n', 'user.keep', '-v', 'new', src]);
    run('setfattr', ['-n', 'trusted.t', '-v', '0x00ff', src]);
    run('setfattr', ['-n', 'security.capability', '-v', CAPABILITY, src]);
    run('setfacl', ['-m', 'u:65534:rw,g:65534:r', src]);
    chownSync(src, 65534, 65534);
    run('chmod', ['4750', src]);
    run('touch', ['-m', '-d', '@1700000000.000000007', src]);
    const dst = file(d, 'dst');
    run('setfattr', ['-n', 'user.keep', '-v', 'old', dst]);
    run('setfattr', ['-n', 'user.extra', '-v', 'gone', dst]);
    run('setfacl', ['-m', 'u:1:r', dst]);
    const want = readMetaSync(src);
    const res = applyMetaSync(dst, want);
    expect(res.notApplied).toEqual([]);
    expect(res.changed.sort()).toEqual(['acl', 'mode', 'mtime', 'owner', 'xattrs']);
    expect(metaDiff(want, readMetaSync(dst))).toEqual([]);
    expect(toolXattrs(dst)).toEqual(toolXattrs(src));
    expect(toolAcl(dst)).toEqual(toolAcl(src));
    const [s, t] = [toolStat(src), toolStat(dst)];
    expect([t.mode, t.uid, t.gid, t.mtimeNs]).toEqual([s.mode, s.uid, s.gid, s.mtimeNs]);
    expect(applyMetaSync(dst, want).changed).toEqual([]);
  });

  it('makes a directory’s default ACL, setgid and sticky bits equal, and removes an ACL the source lacks', () => {
    const d = tmpDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    run('setfacl', ['-d', '-m', 'u:65534:rwx', src]);
    run('chmod', ['3775', src]);
    const dst = path.join(d, 'dst');
    mkdirSync(dst);
    run('setfacl', ['-m', 'u:65534:r-x', dst]);
    const res = applyMetaSync(dst, readMetaSync(src));
    expect(res.notApplied).toEqual([]);
    expect(toolAcl(dst)).toEqual(toolAcl(src));
    expect(toolXattrs(dst)).toEqual(toolXattrs(src));
    expect(toolStat(dst).mode).toBe(toolStat(src).mode);
    // And back: the default ACL goes too.
    const bare = path.join(d, 'bare');
    mkdirSync(bare);
    applyMetaSync(dst, readMetaSync(bare));
    expect(toolXattrs(dst).size).toBe(0);
  });

  it('sets a symlink’s owner, xattrs and mtime without touching its target', () => {
    const d = tmpDir();
    const target = file(d, 'target');
    const before = toolStat(target);
    const src = path.join(d, 'src');
    symlinkSync('target', src);
    run('setfattr', ['-h', '-n', 'trusted.l', '-v', 'v', src]);
    run('chown', ['-h', '65534:65534', src]);
    run('touch', ['-h', '-m', '-d', '@1400000000.5', src]);
    const dst = path.join(d, 'dst');
    symlinkSync('target', dst);
    const res = applyMetaSync(dst, readMetaSync(src));
    expect(res.notApplied).toEqual([]);
    expect(metaDiff(readMetaSync(src), readMetaSync(dst))).toEqual([]);
    expect(toolXattrs(dst)).toEqual(toolXattrs(src));
    expect(toolStat(target)).toEqual(before);
    expect(toolXattrs(target).size).toBe(0);
  });

  it('refuses to apply one type’s attributes to another', () => {
    const d = tmpDir();
    const f = file(d, 'f');
    const want: FileMeta = { ...readMetaSync(f), type: 'dir' };
    expect(() => applyMetaSync(f, want)).toThrow(/cannot apply dir attributes to a file/);
  });

  it('links files and symlinks as hard links (the symlink itself, not its target)', () => {
    const d = tmpDir();
    const f = file(d, 'f');
    makeHardLinkSync(f, path.join(d, 'f2'));
    symlinkSync('f', path.join(d, 'l'));
    makeHardLinkSync(path.join(d, 'l'), path.join(d, 'l2'));
    const [a, b] = [readMetaSync(f), readMetaSync(path.join(d, 'f2'))];
    expect([a.ino, a.nlink]).toEqual([b.ino, 2]);
    const l2 = readMetaSync(path.join(d, 'l2'));
    expect([l2.type, l2.ino, l2.nlink]).toEqual([
      'symlink',
      readMetaSync(path.join(d, 'l')).ino,
      2,
    ]);
  });
});

describe('special files as root', () => {
  it('makes fifos and devices as root', () => {
    const d = tmpDir();
    expect(makeNodeSync(path.join(d, 'p'), 'fifo', 0o640)).toEqual({ created: true });
    expect(makeNodeSync(path.join(d, 'c'), 'char', 0o600, { major: 1, minor: 5 })).toEqual({
      created: true,
    });
    expect(makeNodeSync(path.join(d, 's'), 'socket', 0o600)).toEqual({ created: true });
    expect(run('stat', ['-c', '%F %t:%T', path.join(d, 'c')]).trim()).toBe(
      'character special file 1:5',
    );
    expect(readMetaSync(path.join(d, 'p')).type).toBe('fifo');
    expect(readMetaSync(path.join(d, 's')).type).toBe('socket');
    expect(() => makeNodeSync(path.join(d, 'p'), 'fifo', 0o640)).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
  });
});

describe('as a user that is not root', () => {
  // Runs fn with effective uid/gid 65534 (the saved uid stays root, so the test gets root back).
  function asNobody<T>(fn: () => T): T {
    const groups = process.getgroups!();
    process.setgroups!([65534]);
    process.setegid!(65534);
    process.seteuid!(65534);
    try {
      return fn();
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
      process.setgroups!(groups);
    }
  }

  it('sets what it may and returns each attribute it may not, with the reason', () => {
    const d = tmpDir();
    chownSync(d, 65534, 65534);
    const src = file(d, 'src');
    run('setfattr', ['-n', 'user.u', '-v', '1', src]);
    run('setfattr', ['-n', 'trusted.t', '-v', '2', src]);
    chownSync(src, 0, 0);
    run('chmod', ['0444', src]);
    run('touch', ['-m', '-d', '@1700000000.000000042', src]);
    const want = readMetaSync(src);
    const dst = file(d, 'dst');
    chownSync(dst, 65534, 65534);
    run('chmod', ['0444', dst]);
    const res = asNobody(() => applyMetaSync(dst, want));
    expect(res.notApplied.map((n) => n.attr).sort()).toEqual(['owner', 'xattrs']);
    expect(res.notApplied.find((n) => n.attr === 'owner')?.reason).toMatch(
      /cannot give .*dst to 0:0 as uid 65534, not root/,
    );
    expect(res.notApplied.find((n) => n.attr === 'xattrs')?.reason).toMatch(
      /setting xattr trusted\.t on .*dst: EPERM/,
    );
    // user.* needs write permission even for the owner: lent for the change, then the mode is exact.
    expect(toolXattrs(dst)).toEqual(new Map([['user.u', Buffer.from('1')]]));
    const t = toolStat(dst);
    expect([t.mode & 0o7777, t.uid, t.mtimeNs]).toEqual([0o444, 65534, 1_700_000_000_000_000_042n]);
  });

  it('reports the setgid bit the kernel silently drops', () => {
    const d = tmpDir();
    chownSync(d, 65534, 65534);
    const f = file(d, 'f');
    chownSync(f, 65534, 0);
    const want = { ...readMetaSync(f), mode: 0o2755 };
    const res = asNobody(() => applyMetaSync(f, want, { owner: false }));
    expect(res.notApplied).toEqual([
      { attr: 'mode', reason: expect.stringMatching(/chmod 2755 on .*f left 755/) },
    ]);
  });

  it('skips device nodes with a reason, but makes fifos', () => {
    const d = tmpDir();
    chownSync(d, 65534, 65534);
    const dev = asNobody(() =>
      makeNodeSync(path.join(d, 'c'), 'char', 0o600, { major: 1, minor: 3 }),
    );
    expect(dev).toEqual({
      skipped: expect.stringMatching(/device nodes need root \(as uid 65534, not root\)/),
    });
    expect(asNobody(() => makeNodeSync(path.join(d, 'p'), 'fifo', 0o600))).toEqual({
      created: true,
    });
    expect(toolStat(path.join(d, 'p')).uid).toBe(65534);
  });
});
