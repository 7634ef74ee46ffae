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

  it('takes rows in path order a page at a time, leaving exactly the rows never asked for', () => {
    const s = ListingStore.open();
    const all: string[] = [];
    for (let i = 0; i < 3000; i++) all.push(`d${String(i % 7)}/f${String(i).padStart(4, '0')}`);
    s.add(all.map((p) => f(p)));
    const sorted = paths(s);
    const left: string[] = [];
    sorted.forEach((p, i) => {
      if (i % 5 === 0) left.push(p);
      else expect(s.take(p)).toEqual(f(p));
      if (i % 11 === 0) expect(s.take(`${p}x`)).toBeUndefined(); // a source path the target lacks
    });
    expect(paths(s)).toEqual(left);
    expect(s.totals().entries).toBe(left.length);
    s.close();
  });

  it('answers a take in path order as a look-up would while the listing changes under it', () => {
    // A model (a Map) beside the store: renames, subtree deletes, adds and out-of-order takes
    // between takes in path order, as a mirror's queued ops change the listing while it scans.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const s = ListingStore.open();
    const model = new Map<string, ListedRow>();
    const put = (rows: ListedRow[]): void => {
      s.add(rows);
      for (const r of rows) model.set(r.path, r);
    };
    const rows: ListedRow[] = [];
    for (let i = 0; i < 40; i++) {
      rows.push(d(`a${String(i)}`));
      for (let j = 0; j < 60; j++) rows.push(f(`a${String(i)}/b${String(j)}`));
    }
    put(rows);
    const order = paths(s);
    const under = (p: string, top: string): boolean => p === top || p.startsWith(`${top}/`);
    for (const p of order) {
      const op = rnd(40);
      if (op === 0) {
        const top = `a${String(rnd(40))}`;
        s.deleteTree(top);
        for (const k of [...model.keys()]) if (under(k, top)) model.delete(k);
      } else if (op === 1) {
        const [from, to] = [`a${String(rnd(40))}`, `a${String(rnd(40))}`];
        if (from === to) continue;
        s.moveTree(from, to);
        const moved = [...model.values()].filter((r) => under(r.path, from));
        for (const k of [...model.keys()]) if (under(k, from) || under(k, to)) model.delete(k);
        for (const r of moved)
          model.set(to + r.path.slice(from.length), { ...r, path: to + r.path.slice(from.length) });
      } else if (op === 2) {
        put([f(`a${String(rnd(40))}/b${String(rnd(80))}`)]);
      } else if (op === 3) {
        const q = order[rnd(order.length)] as string;
        expect(s.take(q)).toEqual(model.get(q));
        model.delete(q);
      }
      if (rnd(3) === 0) continue; // the scan does not meet every listed path
      expect(s.take(p)).toEqual(model.get(p));
      model.delete(p);
    }
    expect(paths(s)).toEqual(
      [...model.keys()].sort((x, y) =>
        Buffer.compare(Buffer.from(x.replaceAll('/', '\0')), Buffer.from(y.replaceAll('/', '\0'))),
      ),
    );
    s.close();
  });
});
