// ListingStore: a replica listing on a temporary SQLite file, read back by path and in path
// order, with subtree deletes and renames as the target applies them.
import { describe, expect, it } from 'vitest';
import { ListingStore, type ListedRow } from '../../src/index/listing-store.js';

const f = (path: string, inode?: string): ListedRow => ({
  path,
  type: 'file',
  size: path.length,
  mtimeMs: 1.5,
  mode: 0o644,
  ...(inode === undefined ? {} : { inode }),
});
const d = (path: string): ListedRow => ({ path, type: 'dir', size: 0, mtimeMs: 2, mode: 0o755 });

function paths(s: ListingStore): string[] {
  return [...s.rows(2)].map((r) => r.path);
}

describe('ListingStore', () => {
  it('gives back each row as added, link, attribute stamp and inode included', () => {
    const s = ListingStore.open();
    const l: ListedRow = {
      path: 'l',
      type: 'symlink',
      size: 3,
      mtimeMs: 9,
      mode: 0o777,
      link: 'a/b',
    };
    const a: ListedRow = { ...f('x'), attrs: '0:0:12:ab:', inode: '1:2' };
    s.add([l, a, d('dir')]);
    expect(s.get('l')).toEqual(l);
    expect(s.get('x')).toEqual(a);
    expect(s.get('dir')).toEqual(d('dir'));
    expect(s.get('none')).toBeUndefined();
    expect(s.totals()).toEqual({ entries: 3, fileBytes: 1 });
    expect(s.delete('x')).toBe(true);
    expect(s.delete('x')).toBe(false);
    expect(s.has('x')).toBe(false);
    expect(s.take('l')).toEqual(l);
    expect(s.take('l')).toBeUndefined();
    expect(s.totals()).toEqual({ entries: 1, fileBytes: 0 });
    s.close();
  });

  it('keeps special entries and a device number', () => {
    const s = ListingStore.open();
    const c: ListedRow = {
      path: 'c',
      type: 'char',
      size: 0,
      mtimeMs: 3,
      mode: 0o620,
      rdev: [1, 3],
    };
    const p: ListedRow = {
      path: 'p',
      type: 'fifo',
      size: 0,
      mtimeMs: 4,
      mode: 0o600,
      attrs: '1:2:3::',
    };
    const k: ListedRow = { path: 'k', type: 'socket', size: 0, mtimeMs: 5, mode: 0o755 };
    const b: ListedRow = {
      path: 'b',
      type: 'block',
      size: 0,
      mtimeMs: 6,
      mode: 0o660,
      rdev: [7, 0],
    };
    s.add([c, p, k, b]);
    expect([...s.rows()]).toEqual([b, c, k, p]);
    s.moveTree('c', 'd');
    expect(s.get('d')).toEqual({ ...c, path: 'd' });
    s.close();
  });

  it('pages in the index path order: depth first, a directory right before its contents', () => {
    const s = ListingStore.open();
    s.add([f('a/b'), f('a-b'), d('a'), f('a.b'), f('é'), f('z'), f('a/b/c'), f('a0')]);
    expect(paths(s)).toEqual(['a', 'a/b', 'a/b/c', 'a-b', 'a.b', 'a0', 'z', 'é']);
    s.close();
  });

  it('keeps a name that is not UTF-8 (and a link target) byte-exact', () => {
    const s = ListingStore.open();
    const odd = 'd\udcff/n\udce9'; // the bytes 0xff and 0xe9, escaped as capture escapes them
    const l: ListedRow = {
      path: odd,
      type: 'symlink',
      size: 1,
      mtimeMs: 1,
      mode: 0o777,
      link: 'x\udcfe',
    };
    s.add([d('d\udcff'), l, f('d\udcfe')]);
    expect(s.get(odd)).toEqual(l);
    expect(paths(s)).toEqual(['d\udcfe', 'd\udcff', odd]);
    s.moveTree('d\udcff', 'e\udcff');
    expect(paths(s)).toEqual(['d\udcfe', 'e\udcff', 'e\udcff/n\udce9']);
    s.deleteTree('e\udcff');
    expect(paths(s)).toEqual(['d\udcfe']);
    s.close();
  });

  it('deletes a subtree and nothing that only shares its prefix', () => {
    const s = ListingStore.open();
    s.add([d('a'), f('a/1'), d('a/b'), f('a/b/2'), f('a-x'), f('a0'), f('ab')]);
    s.deleteTree('a');
    expect(paths(s)).toEqual(['a-x', 'a0', 'ab']);
    s.close();
  });

  it('moves a subtree over another, replacing what was listed there', () => {
    const s = ListingStore.open();
    s.add([d('a'), f('a/1'), d('a/c'), f('a/c/2'), d('b'), f('b/old'), f('b-keep'), f('ax')]);
    s.moveTree('a', 'b');
    expect(paths(s)).toEqual(['ax', 'b', 'b/1', 'b/c', 'b/c/2', 'b-keep']);
    expect(s.get('b/c/2')).toEqual({ ...f('a/c/2'), path: 'b/c/2' });
    // A rename of something not listed still replaces its destination.
    s.moveTree('nothing', 'b');
    expect(paths(s)).toEqual(['ax', 'b-keep']);
    s.close();
  });

  it('moves a subtree into a name inside itself without losing rows on the way', () => {
    const s = ListingStore.open();
    s.add([d('a'), d('a/a'), f('a/a/a'), f('a/x')]);
    s.moveTree('a', 'a/a');
    expect(paths(s)).toEqual(['a/a', 'a/a/a', 'a/a/a/a', 'a/a/x']);
    s.close();
  });

  it('names the inodes more than one listed path shares', () => {
    const s = ListingStore.open();
    s.add([f('p', '1:5'), f('q', '1:5'), f('r', '1:6'), f('s')]);
    expect(s.sharedInodes()).toEqual(['1:5']);
    s.close();
  });

  it('marks paths apart from the rows', () => {
    const s = ListingStore.open();
    s.add([f('a')]);
    expect(s.marked).toBe(0);
    s.mark('b');
    s.mark('b');
    expect(s.marked).toBe(1);
    expect(s.isMarkedPath('b')).toBe(true);
    expect(s.isMarkedPath('a')).toBe(false);
    expect(paths(s)).toEqual(['a']);
    s.close();
  });

  it('is gone once closed', () => {
    const s = ListingStore.open();
    s.add([f('x')]);
    s.close();
    expect(() => s.get('x')).toThrow();
  });
});
