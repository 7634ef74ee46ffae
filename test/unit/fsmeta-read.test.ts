// fsmeta reading: every attribute read by readMetaSync equals what stat, getfattr and getfacl print.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aclToText, makeDev, readMetaSync, setXattr, splitDev } from '../../src/fsmeta/index.js';
import { removeTmpDirs, run, tmpDir, toolAcl, toolStat, toolXattrs } from './fsmeta-tools.js';

afterEach(removeTmpDirs);

describe('readMetaSync', () => {
  it('reads type, mode, owner, ns mtime, size, inode and nlink as stat prints them', () => {
    const d = tmpDir();
    const f = path.join(d, 'f');
    writeFileSync(f, 'hello');
    run('chown', ['65534:65534', f]);
    run('chmod', ['6755', f]);
    run('touch', ['-m', '-d', '@1700000000.123456789', f]);
    const m = readMetaSync(f);
    const s = toolStat(f);
    expect(m.type).toBe('file');
    expect(m.mode).toBe(0o6755);
    expect(m.mode).toBe(s.mode & 0o7777);
    expect([m.uid, m.gid]).toEqual([65534, 65534]);
    expect(m.mtimeNs).toBe(1_700_000_000_123_456_789n);
    expect(m.mtimeNs).toBe(s.mtimeNs);
    expect([m.size, m.ino, m.nlink]).toEqual([5, s.ino, 1]);
  });

  it('reads a sticky directory with its ns mtime', () => {
    const d = path.join(tmpDir(), 'd');
    mkdirSync(d, { mode: 0o755 });
    run('chmod', ['1777', d]);
    run('touch', ['-m', '-d', '@1600000000.000000001', d]);
    const m = readMetaSync(d);
    expect([m.type, m.mode, m.mtimeNs]).toEqual(['dir', 0o1777, 1_600_000_000_000_000_001n]);
  });

  it('reads a symlink itself: its target bytes, its own mtime and its own xattrs, never the target’s', () => {
    const d = tmpDir();
    const target = path.join(d, 'target');
    writeFileSync(target, 'x');
    run('setfattr', ['-n', 'user.on-target', '-v', 'T', target]);
    const l = path.join(d, 'link');
    symlinkSync('target', l);
    run('setfattr', ['-h', '-n', 'trusted.on-link', '-v', 'L', l]);
    run('touch', ['-h', '-m', '-d', '@1500000000.987654321', l]);
    const m = readMetaSync(l);
    expect(m.type).toBe('symlink');
    expect(m.linkTarget).toEqual(Buffer.from('target'));
    expect(m.mtimeNs).toBe(1_500_000_000_987_654_321n);
    expect(m.mtimeNs).toBe(toolStat(l).mtimeNs);
    expect(m.xattrs.map((x) => [x.name.toString(), x.value.toString()])).toEqual([
      ['trusted.on-link', 'L'],
    ]);
    expect(readMetaSync(target).xattrs.map((x) => x.name.toString())).toEqual(['user.on-target']);
  });

  it('reads fifos, sockets and a char device with its major and minor', async () => {
    const d = tmpDir();
    run('mkfifo', [path.join(d, 'fifo')]);
    expect(readMetaSync(path.join(d, 'fifo')).type).toBe('fifo');
    const sock = path.join(d, 'sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    expect(readMetaSync(sock).type).toBe('socket');
    server.close();
    const dev = path.join(d, 'null');
    run('mknod', [dev, 'c', '1', '3']);
    const m = readMetaSync(dev);
    const s = toolStat(dev);
    expect([m.type, m.rdev]).toEqual(['char', { major: 1, minor: 3 }]);
    expect([s.major, s.minor]).toEqual([1, 3]);
    run('mknod', [path.join(d, 'blk'), 'b', '259', '70000']);
    expect(readMetaSync(path.join(d, 'blk')).rdev).toEqual({ major: 259, minor: 70000 });
  });

  it('splits and joins large device numbers like glibc', () => {
    for (const d of [
      { major: 0, minor: 0 },
      { major: 8, minor: 1 },
      { major: 4095, minor: 1048575 },
      { major: 0xfffff, minor: 0xff },
    ]) {
      expect(splitDev(makeDev(d))).toEqual(d);
    }
    expect(makeDev({ major: 1, minor: 3 })).toBe(259n);
  });

  it('reads user, trusted and security xattrs exactly as getfattr prints them, ACLs apart', () => {
    const f = path.join(tmpDir(), 'f');
    writeFileSync(f, '');
    run('setfattr', ['-n', 'user.text', '-v', 'hello', f]);
    run('setfattr', ['-n', 'user.bin', '-v', '0x00ff0a', f]);
    run('setfattr', ['-n', 'trusted.t', '-v', 'tv', f]);
    run('setfattr', ['-n', 'security.s', '-v', 'sv', f]);
    run('setfattr', ['-n', 'user.empty', f]);
    run('setfacl', ['-m', 'u:65534:rw,g:65534:r', f]);
    const m = readMetaSync(f);
    const tool = toolXattrs(f);
    const acl = tool.get('system.posix_acl_access');
    tool.delete('system.posix_acl_access');
    expect(new Map(m.xattrs.map((x) => [x.name.toString(), x.value]))).toEqual(tool);
    expect(m.xattrs.map((x) => x.name.toString())).toEqual([
      'security.s',
      'trusted.t',
      'user.bin',
      'user.empty',
      'user.text',
    ]);
    expect(m.acl.access).toEqual(acl);
    expect(aclToText(m.acl.access!)).toEqual(toolAcl(f));
    expect(m.attrDigest).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads values and name lists larger than its first read buffer', () => {
    const f = path.join(tmpDir(), 'f');
    writeFileSync(f, '');
    const big = Buffer.alloc(1500, 0x61); // ext4 keeps all of a file's xattrs in one 4 KiB block
    setXattr(f, 'user.big', big);
    const names = Array.from({ length: 30 }, (_, i) => `user.${'n'.repeat(35)}${10 + i}`);
    for (const n of names) setXattr(f, n, Buffer.from('v'));
    const m = readMetaSync(f);
    expect(m.xattrs.find((x) => x.name.toString() === 'user.big')?.value).toEqual(big);
    expect(m.xattrs.length).toBe(31);
    expect(names.join('\0').length).toBeGreaterThan(1024);
    expect(new Map(m.xattrs.map((x) => [x.name.toString(), x.value]))).toEqual(toolXattrs(f));
  });

  it('reads a directory’s default ACL as getfacl prints it', () => {
    const d = path.join(tmpDir(), 'd');
    mkdirSync(d);
    run('setfacl', ['-m', 'u:65534:rwx', d]);
    run('setfacl', ['-d', '-m', 'u:65534:r-x,g:65534:rwx', d]);
    const m = readMetaSync(d);
    expect([...aclToText(m.acl.access!), ...aclToText(m.acl.default!, 'default:')]).toEqual(
      toolAcl(d),
    );
  });

  it('has an empty digest without attributes, and one that changes with an xattr-only change', () => {
    const f = path.join(tmpDir(), 'f');
    writeFileSync(f, '');
    const bare = readMetaSync(f);
    expect([bare.xattrs, bare.acl, bare.attrDigest]).toEqual([[], {}, '']);
    run('setfattr', ['-n', 'user.a', '-v', '1', f]);
    const one = readMetaSync(f).attrDigest;
    run('setfattr', ['-n', 'user.a', '-v', '2', f]);
    const two = readMetaSync(f).attrDigest;
    run('setfacl', ['-m', 'u:65534:r', f]);
    const withAcl = readMetaSync(f).attrDigest;
    expect(new Set([one, two, withAcl]).size).toBe(3);
    expect(readMetaSync(f).attrDigest).toBe(withAcl);
    // A chmod rewrites the ACL's mask entry, but it is a mode change, not an attribute change.
    run('chmod', ['g-w,o-r', f]);
    expect(readMetaSync(f).attrDigest).toBe(withAcl);
  });

  it('skips reading xattrs and ACLs when told to', () => {
    const f = path.join(tmpDir(), 'f');
    writeFileSync(f, '');
    run('setfattr', ['-n', 'user.a', '-v', '1', f]);
    run('setfacl', ['-m', 'u:65534:r', f]);
    expect(readMetaSync(f, { xattrs: false }).xattrs).toEqual([]);
    expect(readMetaSync(f, { xattrs: false }).acl.access).toBeDefined();
    expect(readMetaSync(f, { acls: false }).acl).toEqual({});
  });

  it('throws fs-style errors for a missing path', () => {
    expect(() => readMetaSync(path.join(tmpDir(), 'nope'))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});
