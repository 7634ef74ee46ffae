// Index paths as keys: what is refused, the order keys sort in (that of a depth-first walk of a
// real directory with siblings sorted by name bytes), and subtree bounds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePaths } from '../../src/index/index.js';
import {
  childHolding,
  childrenStart,
  fromKey,
  isDirectChild,
  isWithin,
  subtreeEnd,
  toKey,
} from '../../src/index/path-key.js';

const b = (s: string): Buffer => Buffer.from(s);
const latin = (s: string): Buffer => Buffer.from(s, 'latin1');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-index-key-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Depth-first walk of a real directory, siblings sorted by name bytes, as Buffer paths. */
function walk(root: string): Buffer[] {
  const out: Buffer[] = [];
  const visit = (rel: Buffer): void => {
    const abs = Buffer.concat([Buffer.from(root + '/'), rel]);
    const names = fs.readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const child = rel.length ? Buffer.concat([rel, b('/'), name]) : name;
      out.push(child);
      if (fs.lstatSync(Buffer.concat([abs, b('/'), name])).isDirectory()) visit(child);
    }
  };
  visit(Buffer.alloc(0));
  return out;
}

describe('index path keys', () => {
  it('round-trips paths, including bytes that are not UTF-8', () => {
    for (const p of [b('a'), b('a/b/c'), latin('caf\xe9/\xff\xfe'), b('x\ny/z')]) {
      const key = toKey(p);
      expect(key.includes(0x2f)).toBe(false);
      expect(fromKey(Buffer.from(key)).equals(p)).toBe(true);
    }
    expect(toKey(Buffer.alloc(0)).length).toBe(0); // the root
  });

  it('refuses what is not a relative, normalised path', () => {
    for (const bad of ['/a', 'a/', 'a//b', 'a/./b', './a', 'a/..', '..', '.', 'a\0b']) {
      expect(() => toKey(b(bad)), bad).toThrow(/index path/);
    }
    for (const ok of ['.a', 'a..', '...', 'a/.b/c..']) expect(() => toKey(b(ok))).not.toThrow();
  });

  it('sorts keys in the order of a depth-first walk of a real tree', () => {
    const at = (rel: string): Buffer => Buffer.concat([b(dir + '/'), latin(rel)]);
    for (const d of ['a', 'a-b', 'a0', 'a.b', 'ab', 'b', 'A', ' sp', 'a/b', '\xe9t\xe9'])
      fs.mkdirSync(at(d));
    // names that are not UTF-8, and a newline, through Buffer paths
    for (const f of ['a/b-c', 'a/b0', 'a/b/c', 'a-b/x', 'ab/y', 'a/\xff\xfe', '\xe9t\xe9/n\nl'])
      fs.writeFileSync(at(f), '');

    const walked = walk(dir);
    expect(walked.length).toBeGreaterThan(15);
    const byKey = [...walked].sort(() => Math.random() - 0.5).sort(comparePaths);
    expect(byKey.map((p) => p.toString('latin1'))).toEqual(walked.map((p) => p.toString('latin1')));
    // comparePaths and memcmp of keys agree
    const keys = walked.map(toKey);
    for (let i = 1; i < keys.length; i++) {
      expect(Buffer.compare(keys[i - 1] as Buffer, keys[i] as Buffer)).toBeLessThan(0);
    }
  });

  it('bounds a subtree: itself and its descendants, not its prefix-sharing siblings', () => {
    const k = toKey(b('a/b'));
    const end = subtreeEnd(k);
    const inside = ['a/b', 'a/b/c', 'a/b/c/d', 'a/b/\xff'].map((s) => toKey(latin(s)));
    const outside = ['a/b-c', 'a/b0', 'a/ba', 'a/c', 'a', 'a/a/b'].map((s) => toKey(b(s)));
    for (const x of inside) expect(x.compare(k) >= 0 && x.compare(end) < 0).toBe(true);
    for (const x of outside) expect(x.compare(k) >= 0 && x.compare(end) < 0).toBe(false);
  });

  it('tells direct children from deeper entries', () => {
    const start = childrenStart(toKey(b('a')));
    expect(isDirectChild(toKey(b('a/b')), start)).toBe(true);
    expect(isDirectChild(toKey(b('a/b/c')), start)).toBe(false);
    expect(fromKey(Buffer.from(childHolding(toKey(b('a/b/c/d')), start))).toString()).toBe('a/b');
    const root = childrenStart(Buffer.alloc(0));
    expect(isDirectChild(toKey(b('top')), root)).toBe(true);
    expect(isDirectChild(toKey(b('top/x')), root)).toBe(false);
  });

  it('knows when one path lies within another', () => {
    expect(isWithin(b('a/b'), b('a'))).toBe(true);
    expect(isWithin(b('a'), b('a'))).toBe(true);
    expect(isWithin(b('ab'), b('a'))).toBe(false);
    expect(isWithin(b('a'), b('a/b'))).toBe(false);
    expect(isWithin(b('anything'), Buffer.alloc(0))).toBe(true);
  });
});
