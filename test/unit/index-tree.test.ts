// Subtrees in the index: deletes and renames as key ranges (prefix-sharing siblings untouched,
// names that are not UTF-8 moved intact), listing a directory's children, walking in path order
// a page at a time, and a randomized run against a plain Map model.
import { describe, expect, it } from 'vitest';
import { comparePaths, type IndexEntry } from '../../src/index/index.js';
import { PAGE_ROWS, scanChildren } from '../../src/index/cursors.js';
import type { KeyedEntry } from '../../src/index/entry-store.js';
import { toKey } from '../../src/index/path-key.js';
import { scratchIndex } from '../helpers/scratch-index.js';

const scratch = scratchIndex('smr-index-tree');

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const names = (it: Iterable<{ path: Buffer }>): string[] =>
  [...it].map((r) => r.path.toString('latin1'));

function entry(seq: number, ino = BigInt(seq), type: IndexEntry['type'] = 'file'): IndexEntry {
  return {
    type,
    size: seq,
    mtimeNs: BigInt(seq) * 1_000_000_007n,
    mode: type === 'dir' ? 0o40755 : 0o100644,
    uid: 0,
    gid: 0,
    dev: 1n,
    ino,
    rdev: 0n,
    link: null,
    sha256: null,
    attrDigest: null,
    seq,
    ctimeNs: 0n,
  };
}

function putAll(paths: string[], seq = 1): void {
  scratch.index.transaction(() => {
    // a trailing '/' marks a directory
    paths.forEach((p, i) => {
      const isDir = p.endsWith('/');
      scratch.index.put(
        b(isDir ? p.slice(0, -1) : p),
        entry(seq, BigInt(i + 1), isDir ? 'dir' : 'file'),
      );
    });
  });
}

const SAMPLE = [
  'a',
  'a/b',
  'a/b/c',
  'a/b/c/d',
  'a/b-c',
  'a/b0',
  'a/ba',
  'a-b',
  'a0',
  'ab',
  'a/\xff',
];

describe('index subtrees', () => {
  it('counts a subtree, or the entries from one path to another in path order', () => {
    putAll(SAMPLE);
    expect(scratch.index.count(b('a/b'))).toBe(3);
    // a/b/c, a/b/c/d, a/b-c, a/b0: the last one's subtree (none here) is not counted
    expect(scratch.index.count(b('a/b/c'), b('a/b0'))).toBe(4);
    expect(scratch.index.count(b('a/b/c'), b('a/b/c'))).toBe(1); // not a/b/c/d
    expect(scratch.index.count(b('a/b/e'), b('a/b/z'))).toBe(0);
    expect(scratch.index.count(b('a/b1'), b('a/b9'))).toBe(0);
  });

  it('deletes a subtree and nothing that merely shares its prefix', () => {
    putAll(SAMPLE);
    expect(scratch.index.deleteTree(b('a/b'), 5)).toBe(3);
    expect(names(scratch.index.entries())).toEqual([
      'a',
      'a/b-c',
      'a/b0',
      'a/ba',
      'a/\xff',
      'a-b',
      'a0',
      'ab',
    ]);
    expect(scratch.index.deleteTree(b('nothing'), 6)).toBe(0);
    expect(scratch.index.deleteTree(Buffer.alloc(0), 7)).toBe(8); // the root: everything
    expect(scratch.index.count()).toBe(0);
  });

  it('renames a subtree with its bytes intact, stamping the rename seq', () => {
    putAll([...SAMPLE, 'a/b/\xfe\xff/x']);
    expect(scratch.index.renameTree(b('a/b'), b('z/\xe9'), 42)).toBe(4);
    const all = names(scratch.index.entries());
    expect(all).toEqual(
      ['a', 'a/b-c', 'a/b0', 'a/ba', 'a/\xff', 'a-b', 'a0', 'ab'].concat([
        'z/\xe9',
        'z/\xe9/c',
        'z/\xe9/c/d',
        'z/\xe9/\xfe\xff/x',
      ]),
    );
    expect(scratch.index.get(b('z/\xe9/c/d'))).toMatchObject({ seq: 42, size: 1 });
    expect(scratch.index.get(b('a/b0'))?.seq).toBe(1);
    expect(scratch.index.findByInode(1n, 4n).map((r) => r.path.toString('latin1'))).toEqual([
      'z/\xe9/c/d',
    ]);
  });

  it('replaces what was at the destination, keeps block hashes, moves dirty marks', () => {
    putAll(['src/', 'src/f', 'dst/', 'dst/old', 'dst/old/x']);
    const hashes = new BigUint64Array([1n, 2n, 3n]);
    scratch.index.put(b('src/f'), entry(2), { blockSize: 16384, size: 40000, hashes });
    scratch.index.markDirty(b('src/f'));
    scratch.index.markDirty(b('src2'));
    expect(scratch.index.renameTree(b('src'), b('dst'), 9)).toBe(2);
    expect(names(scratch.index.entries())).toEqual(['dst', 'dst/f']);
    expect(scratch.index.get(b('dst'))?.type).toBe('dir');
    expect(scratch.index.get(b('dst/old'))).toBeNull();
    expect(scratch.index.getBlocks(b('dst/f'))?.hashes).toEqual(hashes);
    expect(names(scratch.index.dirtyPaths())).toEqual(['dst/f', 'src2']);
    expect(names(scratch.index.tombstonesAbove(0))).toEqual(['dst', 'src']);
  });

  it('refuses renames into itself or over its own ancestor, and of the root', () => {
    putAll(['a', 'a/b']);
    expect(() => scratch.index.renameTree(b('a'), b('a/b/c'), 2)).toThrow(/cannot rename/);
    expect(() => scratch.index.renameTree(b('a/b'), b('a'), 2)).toThrow(/cannot rename/);
    expect(() => scratch.index.renameTree(Buffer.alloc(0), b('x'), 2)).toThrow(/cannot rename/);
    expect(scratch.index.renameTree(b('a'), b('a'), 2)).toBe(0);
    expect(names(scratch.index.entries())).toEqual(['a', 'a/b']);
  });

  it('lists direct children only, skipping each child subtree whatever its size', () => {
    const paths = ['d', 'd/a', 'd/a-b', 'd/z', 'top', 'top2'];
    for (let i = 0; i < PAGE_ROWS * 2 + 5; i++) paths.push(`d/a/deep${i}`, `d/z/${i}/x`);
    for (let i = 0; i < PAGE_ROWS + 3; i++) paths.push(`d/m${String(i).padStart(4, '0')}`);
    putAll(paths);
    const kids = names(scratch.index.children(b('d')));
    expect(kids.length).toBe(3 + PAGE_ROWS + 3);
    expect(kids.slice(0, 2)).toEqual(['d/a', 'd/a-b']);
    expect(kids[kids.length - 1]).toBe('d/z');
    expect(kids.every((k) => k.split('/').length === 2)).toBe(true);
    expect(names(scratch.index.children(Buffer.alloc(0)))).toEqual(['d', 'top', 'top2']);
    expect(names(scratch.index.children(b('d/a')))).toHaveLength(PAGE_ROWS * 2 + 5);
    expect(names(scratch.index.children(b('nothing')))).toEqual([]);
  });

  it('reads about a page per child directory, not the rows below it', () => {
    // an in-memory table behind the page reader, counting the rows it hands out
    const keys = ['d', 'd/a', 'd/b', 'd/c'];
    for (let i = 0; i < 5000; i++) keys.push(`d/a/${i}`, `d/b/x/${i}`);
    const table = keys.map((k) => toKey(b(k))).sort(Buffer.compare);
    let rowsRead = 0;
    const read = (lo: Buffer, hi: Buffer | null, n: number): KeyedEntry[] => {
      const rows = table
        .filter((k) => k.compare(lo) >= 0 && (hi === null || k.compare(hi) < 0))
        .slice(0, n);
      rowsRead += rows.length;
      return rows.map((k) => ({ key: Buffer.from(k), entry: entry(1) }));
    };
    expect([...scanChildren(read, toKey(b('d')))].length).toBe(3);
    expect(rowsRead).toBeLessThan(3 * PAGE_ROWS);
  });

  it('walks in path order a page at a time, within a subtree, after a path', () => {
    const paths: string[] = [];
    for (let i = 0; i < PAGE_ROWS * 3 + 17; i++) paths.push(`p/${i % 7}/${i}`, `q${i % 3}/${i}`);
    putAll(paths);
    const all = names(scratch.index.entries());
    expect(all).toEqual(
      [...paths]
        .map(b)
        .sort(comparePaths)
        .map((p) => p.toString('latin1')),
    );
    const under = names(scratch.index.entries({ under: b('p/3') }));
    expect(under).toEqual(all.filter((p) => p.startsWith('p/3/')));
    expect(scratch.index.count(b('p/3'))).toBe(under.length);
    const after = names(scratch.index.entries({ after: b(all[1000] as string) }));
    expect(after).toEqual(all.slice(1001));
    expect(names(scratch.index.entries({ under: b('p'), after: b('p/9') }))).toEqual([]);
  });

  it('lets writes run between pages of a walk', () => {
    putAll(Array.from({ length: PAGE_ROWS * 2 }, (_, i) => `w/${String(i).padStart(5, '0')}`));
    let seen = 0;
    for (const r of scratch.index.entries()) {
      seen++;
      if (seen === PAGE_ROWS + 1) {
        scratch.index.put(b('w/99999'), entry(3)); // ahead of the cursor: seen
        scratch.index.delete(b('w/00000'), 4); // behind it: not revisited
      }
      expect(r.path.length).toBeGreaterThan(0);
    }
    expect(seen).toBe(PAGE_ROWS * 2 + 1);
  });
});

describe('index subtrees: randomized against a model', () => {
  it('matches a Map after thousands of random puts, deletes and renames', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const comp = ['a', 'b', 'a-', 'a0', '\xff', 'ab'];
    const randPath = (): string =>
      Array.from({ length: 1 + rnd(3) }, () => comp[rnd(comp.length)] as string).join('/');
    const model = new Map<string, number>();
    const within = (p: string, root: string): boolean => p === root || p.startsWith(root + '/');
    for (let seq = 1; seq <= 3000; seq++) {
      const p = randPath();
      const op = rnd(10);
      if (op < 6) {
        scratch.index.put(b(p), entry(seq));
        model.set(p, seq);
      } else if (op < 8) {
        scratch.index.deleteTree(b(p), seq);
        for (const k of [...model.keys()]) if (within(k, p)) model.delete(k);
      } else {
        const to = randPath();
        if (p === to || within(to, p) || within(p, to)) continue;
        const moved = [...model].filter(([k]) => within(k, p));
        for (const k of [...model.keys()]) if (within(k, to)) model.delete(k);
        for (const [k] of moved) model.delete(k);
        for (const [k] of moved) model.set(to + k.slice(p.length), seq);
        expect(scratch.index.renameTree(b(p), b(to), seq)).toBe(moved.length);
      }
      if (seq % 250 === 0) {
        const want = [...model.keys()]
          .map(b)
          .sort(comparePaths)
          .map((k) => k.toString('latin1'));
        const got = [...scratch.index.entries()];
        expect(got.map((r) => r.path.toString('latin1'))).toEqual(want);
        for (const r of got) expect(r.entry.seq).toBe(model.get(r.path.toString('latin1')));
      }
    }
    expect(scratch.index.count()).toBe(model.size);
  });
});
