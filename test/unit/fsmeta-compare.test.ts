// fsmeta comparing: metaDiff names each attribute that differs between two real entries, in the
// contract's words; linkGroupDiff finds names whose hard-link partners differ.
import { chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMetaSync,
  encodeAcl,
  linkGroupDiff,
  metaDiff,
  parseAcl,
  readMetaSync,
  walkBytes,
  type LinkMember,
} from '../../src/fsmeta/index.js';
import { removeTmpDirs, run, tmpDir } from './fsmeta-tools.js';

afterEach(removeTmpDirs);

// Two equal files (b made equal to a), then `change` applied to b alone.
function pairDiff(
  change: (b: string, d: string) => unknown,
  setup?: (p: string) => unknown,
): string[] {
  const d = tmpDir();
  const [a, b] = [path.join(d, 'a'), path.join(d, 'b')];
  writeFileSync(a, 'same');
  writeFileSync(b, 'same');
  setup?.(a);
  applyMetaSync(b, readMetaSync(a));
  expect(metaDiff(readMetaSync(a), readMetaSync(b))).toEqual([]);
  change(b, d);
  return metaDiff(readMetaSync(a), readMetaSync(b));
}

describe('metaDiff', () => {
  it('names each attribute changed on one side', () => {
    expect(pairDiff((b) => run('chmod', ['u+s', b]))).toEqual(['mode']);
    expect(pairDiff((b) => chownSync(b, 0, 65534))).toEqual(['owner']);
    expect(pairDiff((b) => run('touch', ['-m', '-d', '@1700000000.000000001', b]))).toEqual([
      'mtime',
    ]);
    expect(pairDiff((b) => run('setfattr', ['-n', 'user.x', '-v', '1', b]))).toEqual(['xattrs']);
    const withX = (a: string): unknown => run('setfattr', ['-n', 'user.x', '-v', '1', a]);
    expect(pairDiff((b) => run('setfattr', ['-n', 'user.x', '-v', '2', b]), withX)).toEqual([
      'xattrs',
    ]);
    expect(pairDiff((b) => run('setfattr', ['-x', 'user.x', b]), withX)).toEqual(['xattrs']);
    expect(pairDiff((b) => run('setfacl', ['-m', 'u:65534:r', b]))).toEqual(['acl']);
  });

  it('reports a chmod of a file with an ACL as a mode difference only', () => {
    const withAcl = (a: string): unknown => run('setfacl', ['-m', 'u:65534:rw', a]);
    expect(pairDiff((b) => run('chmod', ['g-w', b]), withAcl)).toEqual(['mode']);
    // -n: no mask recalculation, so the mode stays as it was.
    expect(pairDiff((b) => run('setfacl', ['-n', '-m', 'u:65534:r', b]), withAcl)).toEqual(['acl']);
  });

  it('reports a type change alone, and a device’s other number as a type change', () => {
    const d = tmpDir();
    writeFileSync(path.join(d, 'f'), '');
    mkdirSync(path.join(d, 'dir'));
    expect(metaDiff(readMetaSync(path.join(d, 'f')), readMetaSync(path.join(d, 'dir')))).toEqual([
      'type',
    ]);
    run('mknod', [path.join(d, 'c1'), 'c', '1', '3']);
    run('mknod', [path.join(d, 'c2'), 'c', '1', '5']);
    const [c1, c2] = [readMetaSync(path.join(d, 'c1')), readMetaSync(path.join(d, 'c2'))];
    expect(metaDiff(c1, { ...c2, mtimeNs: c1.mtimeNs })).toEqual(['type']);
  });

  it('compares a symlink’s target and mtime, not its mode', () => {
    const d = tmpDir();
    symlinkSync('one', path.join(d, 'a'));
    symlinkSync('two', path.join(d, 'b'));
    const [a, b] = [readMetaSync(path.join(d, 'a')), readMetaSync(path.join(d, 'b'))];
    expect(metaDiff(a, { ...b, mtimeNs: a.mtimeNs, mode: 0o644 })).toEqual(['link target']);
    expect(metaDiff(a, { ...a, mtimeNs: a.mtimeNs + 1n })).toEqual(['mtime']);
  });

  it('leaves out owner, xattrs and ACLs when told to (the --no-* options)', () => {
    const d = tmpDir();
    writeFileSync(path.join(d, 'a'), '');
    const a = readMetaSync(path.join(d, 'a'));
    const b = { ...a, uid: 1, xattrs: [{ name: Buffer.from('user.x'), value: Buffer.from('1') }] };
    expect(metaDiff(a, b)).toEqual(['owner', 'xattrs']);
    expect(metaDiff(a, b, { owner: false, xattrs: false, acls: false })).toEqual([]);
  });
});

describe('POSIX ACL values', () => {
  it('round-trips the kernel form in canonical order and refuses malformed values', () => {
    const f = path.join(tmpDir(), 'f');
    writeFileSync(f, '');
    run('setfacl', ['-m', 'u:7:r,u:3:w,g:9:x', f]);
    const raw = readMetaSync(f).acl.access!;
    expect(encodeAcl(parseAcl(raw).reverse())).toEqual(raw);
    expect(() => parseAcl(Buffer.from([1, 0, 0, 0]))).toThrow(/malformed POSIX ACL/);
    expect(() => parseAcl(raw.subarray(0, raw.length - 1))).toThrow(/malformed POSIX ACL/);
  });
});

describe('linkGroupDiff', () => {
  async function members(root: string): Promise<LinkMember[]> {
    const out: LinkMember[] = [];
    for await (const e of walkBytes(root)) out.push({ rel: e.rel, ...readMetaSync(e.path) });
    return out;
  }

  it('finds names linked on one side and separate or linked otherwise on the other', async () => {
    const [a, b] = [tmpDir(), tmpDir()];
    for (const root of [a, b])
      for (const n of ['x', 'y', 'z']) writeFileSync(path.join(root, n), n);
    linkSync(path.join(a, 'x'), path.join(a, 'x2'));
    linkSync(path.join(b, 'x'), path.join(b, 'x2'));
    expect(linkGroupDiff(await members(a), await members(b))).toEqual([]);
    linkSync(path.join(a, 'y'), path.join(a, 'y2'));
    writeFileSync(path.join(b, 'y2'), 'y');
    linkSync(path.join(a, 'z'), path.join(a, 'z2'));
    linkSync(path.join(b, 'x'), path.join(b, 'z2'));
    const diff = linkGroupDiff(await members(a), await members(b)).map(String);
    expect(diff).toEqual(['x', 'x2', 'y', 'y2', 'z', 'z2']);
  });
});
