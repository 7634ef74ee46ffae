// The index's bookkeeping beside the entries: dirty paths and their reasons, tombstones trimmed
// by acks, the meta seqs, reset for a new epoch, marking what a lost journal tail touched, and
// transactions that commit whole or not at all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DIRTY_CHANGED,
  DIRTY_QUEUING,
  DIRTY_SPILL_A,
  DIRTY_UNSURE,
  PathIndex,
  type IndexEntry,
} from '../../src/index/index.js';
import { PAGE_ROWS } from '../../src/index/cursors.js';
import { openDatabase } from '../../src/index/sqlite.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

let dir: string;
let file: string;
let idx: PathIndex;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-index-state-'));
  file = path.join(dir, 'index.db');
  idx = PathIndex.open(file);
});
afterEach(() => {
  idx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function entry(seq: number): IndexEntry {
  return {
    type: 'file',
    size: 1,
    mtimeNs: 1n,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    dev: 1n,
    ino: BigInt(seq),
    rdev: 0n,
    link: null,
    sha256: null,
    attrDigest: null,
    seq,
    ctimeNs: 0n,
  };
}

function reopen(): void {
  idx.close();
  idx = PathIndex.open(file);
}

describe('index dirty paths', () => {
  it('adds and takes off reasons, in path order, across a reopen', () => {
    idx.markDirty(b('b/\xff'));
    idx.markDirty(b('a'), DIRTY_UNSURE);
    idx.markDirty(b('a'), DIRTY_CHANGED);
    idx.markDirty(Buffer.alloc(0)); // the root: rescan everything
    reopen();
    const both = DIRTY_CHANGED | DIRTY_UNSURE;
    expect(idx.dirtyFlags(b('a'))).toBe(both);
    expect([...idx.dirtyPaths()].map((d) => [d.path.toString('latin1'), d.flags])).toEqual([
      ['', DIRTY_CHANGED],
      ['a', both],
      ['b/\xff', DIRTY_CHANGED],
    ]);
    expect(idx.dirtyCount(DIRTY_UNSURE)).toBe(1);
    idx.clearDirty(b('a'), DIRTY_UNSURE);
    expect(idx.dirtyFlags(b('a'))).toBe(DIRTY_CHANGED);
    expect(idx.dirtyCount(DIRTY_UNSURE)).toBe(0);
    idx.clearDirty(b('a'));
    expect(idx.dirtyFlags(b('a'))).toBe(0);
    expect(idx.dirtyCount()).toBe(2);
    idx.clearDirty(b('never'));
    expect(idx.dirtyCount()).toBe(2);
  });

  it('lists many dirty paths a page at a time, filtered by reason', () => {
    idx.transaction(() => {
      for (let i = 0; i < PAGE_ROWS * 2 + 3; i++) {
        idx.markDirty(b(`d/${i}`), i % 2 ? DIRTY_CHANGED : DIRTY_UNSURE);
      }
    });
    expect([...idx.dirtyPaths()].length).toBe(PAGE_ROWS * 2 + 3);
    const unsure = [...idx.dirtyPaths(DIRTY_UNSURE)];
    expect(unsure.length).toBe(PAGE_ROWS + 2);
    expect(unsure.every((d) => d.flags === DIRTY_UNSURE)).toBe(true);
  });

  it('drops the changed and unsure marks of a deleted subtree, and keeps every other', () => {
    // A check pending below a deleted directory is dropped as covered by its delete (capture's
    // rename windows close below it): a mark left there would hold `wait` until the next rescan.
    idx.put(b('a'), { ...entry(1), type: 'dir' });
    idx.put(b('a/x'), entry(2));
    idx.markDirty(b('a'), DIRTY_QUEUING);
    idx.markDirty(b('a/x'), DIRTY_CHANGED);
    idx.markDirty(b('a/y/z'), DIRTY_UNSURE | DIRTY_SPILL_A); // no entry: marks alone go too
    idx.markDirty(b('ab'), DIRTY_CHANGED); // a sibling, outside the subtree
    expect(idx.deleteTree(b('a'), 3)).toBe(2);
    expect(idx.dirtyFlags(b('a'))).toBe(DIRTY_QUEUING); // the op's own batch settles it
    expect(idx.dirtyFlags(b('a/x'))).toBe(0);
    expect(idx.dirtyFlags(b('a/y/z'))).toBe(DIRTY_SPILL_A); // a spilled hint is still looked at
    expect(idx.dirtyFlags(b('ab'))).toBe(DIRTY_CHANGED);
    expect(idx.dirtyCount()).toBe(2);
  });

  it('marks unsure every entry touched after a seq (a lost journal tail)', () => {
    for (let seq = 1; seq <= 10; seq++) idx.put(b(`f${seq}`), entry(seq));
    idx.markDirty(b('f9'), DIRTY_CHANGED);
    expect(idx.markUnsureAbove(7)).toBe(3);
    expect([...idx.dirtyPaths(DIRTY_UNSURE)].map((d) => d.path.toString())).toEqual([
      'f10',
      'f8',
      'f9',
    ]);
    expect(idx.dirtyFlags(b('f9'))).toBe(DIRTY_CHANGED | DIRTY_UNSURE);
  });
});

describe('index tombstones and meta', () => {
  it('keeps a tombstone per deleted or moved subtree until its seq is acknowledged', () => {
    for (const p of ['a', 'a/x', 'b', 'c', 'd']) idx.put(b(p), entry(1));
    idx.deleteTree(b('a'), 5);
    idx.delete(b('b'), 6);
    idx.renameTree(b('c'), b('e'), 7);
    idx.deleteTree(b('missing'), 8); // nothing was there: nothing the target could hold
    idx.deleteTree(b('d'), 3); // an older seq for the same place keeps the newer one
    idx.delete(b('e'), 9);
    idx.put(b('d'), entry(10));
    idx.deleteTree(b('d'), 4);
    const stones = () => [...idx.tombstonesAbove(0)].map((t) => `${t.path}@${t.seq}`);
    expect(stones()).toEqual(['a@5', 'b@6', 'c@7', 'd@4', 'e@9']);
    expect([...idx.tombstonesAbove(6)].map((t) => t.path.toString())).toEqual(['c', 'e']);
    idx.setAckedSeq(6);
    expect(stones()).toEqual(['c@7', 'e@9']);
    idx.setAckedSeq(2); // acks never go back
    expect(idx.meta().ackedSeq).toBe(6);
    reopen();
    expect(stones()).toEqual(['c@7', 'e@9']);
  });

  it('starts at zero, keeps what is set, and resets for a new epoch', () => {
    expect(idx.meta()).toEqual({ epoch: null, indexedSeq: 0, ackedSeq: 0, baseline: false });
    idx.put(b('f'), entry(3));
    idx.markDirty(b('g'));
    idx.deleteTree(b('f'), 4);
    idx.put(b('f'), entry(5));
    idx.transaction(() => idx.setIndexedSeq(5));
    expect(() => idx.transaction(() => idx.setAckedSeq(3))).toThrow(/durable commit/);
    idx.setAckedSeq(3); // outside a batch: fsynced, with everything before it
    idx.setEpoch(77);
    idx.setBaseline(true);
    reopen();
    expect(idx.meta()).toEqual({ epoch: 77, indexedSeq: 5, ackedSeq: 3, baseline: true });
    expect(idx.count()).toBe(1);
    idx.reset(2 ** 47 + 1);
    expect(idx.meta()).toEqual({ epoch: 2 ** 47 + 1, indexedSeq: 0, ackedSeq: 0, baseline: false });
    expect(idx.count()).toBe(0);
    expect(idx.dirtyCount()).toBe(0);
    expect([...idx.tombstonesAbove(0)]).toEqual([]);
  });
});

describe('index acks', () => {
  it('records an ack at once and resolves once the WAL is fsynced in the thread pool', async () => {
    idx.put(b('a'), entry(1));
    idx.put(b('b'), entry(2));
    idx.deleteTree(b('a'), 5);
    idx.deleteTree(b('b'), 8);
    const synced = vi.spyOn(fs, 'fdatasync');
    const done = idx.setAckedSeq(6, true);
    expect(idx.meta().ackedSeq).toBe(6); // committed before the fsync returns
    expect([...idx.tombstonesAbove(0)].map((t) => t.path.toString())).toEqual(['b']);
    await done;
    expect(synced).toHaveBeenCalledTimes(1);
    synced.mockRestore();
    expect(() => idx.transaction(() => idx.setAckedSeq(7, true))).toThrow(/durable commit/);
    reopen();
    expect(idx.meta().ackedSeq).toBe(6);
  });
});

describe('index streams', () => {
  it('restarts a stream keeping every entry, unsure and unnumbered, as evidence', () => {
    idx.put(b('d'), { ...entry(4), type: 'dir' });
    idx.put(b('d/f'), entry(9));
    idx.deleteTree(b('gone'), 10);
    idx.put(b('gone'), entry(11));
    idx.deleteTree(b('gone'), 12);
    idx.transaction(() => idx.setIndexedSeq(12));
    idx.setAckedSeq(8);
    idx.setBaseline(true);
    idx.restartStream(5);
    expect(idx.meta()).toEqual({ epoch: 5, indexedSeq: 0, ackedSeq: 0, baseline: false });
    expect([...idx.entries()].map((r) => [r.path.toString(), r.entry.seq])).toEqual([
      ['d', 0],
      ['d/f', 0],
    ]);
    expect([...idx.dirtyPaths()].map((d) => [d.path.toString(), d.flags])).toEqual([
      ['d', DIRTY_UNSURE],
      ['d/f', DIRTY_UNSURE],
    ]);
    expect([...idx.tombstonesAbove(0)]).toEqual([]);
  });

  it('turns one reason into another (batches cut short become unsure at open)', () => {
    idx.markDirty(b('a'), DIRTY_QUEUING);
    idx.markDirty(b('b'), DIRTY_QUEUING | DIRTY_CHANGED);
    idx.markDirty(b('c'), DIRTY_CHANGED);
    expect(idx.promoteDirty(DIRTY_QUEUING, DIRTY_UNSURE)).toBe(2);
    expect([...idx.dirtyPaths()].map((d) => [d.path.toString(), d.flags])).toEqual([
      ['a', DIRTY_UNSURE],
      ['b', DIRTY_UNSURE | DIRTY_CHANGED],
      ['c', DIRTY_CHANGED],
    ]);
  });
});

describe('index transactions', () => {
  it('commits a batch whole, or on an exception not at all (meta included)', () => {
    idx.transaction(() => {
      idx.put(b('a'), entry(1));
      idx.put(b('a/b'), entry(1));
      idx.setIndexedSeq(1);
    });
    expect(() =>
      idx.transaction(() => {
        idx.renameTree(b('a'), b('z'), 2);
        idx.put(b('n'), entry(2));
        idx.markDirty(b('n'));
        idx.setIndexedSeq(2);
        throw new Error('capture failed mid-batch');
      }),
    ).toThrow(/mid-batch/);
    expect([...idx.entries()].map((r) => r.path.toString())).toEqual(['a', 'a/b']);
    expect(idx.meta().indexedSeq).toBe(1);
    expect(idx.dirtyCount()).toBe(0);
    expect([...idx.tombstonesAbove(0)]).toEqual([]);
  });

  it('rolls back a failed step inside a batch without undoing the rest', () => {
    idx.transaction(() => {
      idx.put(b('keep'), entry(1));
      expect(() => idx.put(b('bad//path'), entry(1))).toThrow(/empty component/);
      // refused by SQLite after its block hashes were written: those go too
      const hashes = new BigUint64Array([1n]);
      const bad = { ...entry(1), size: 1.5 };
      expect(() => idx.put(b('half'), bad, { blockSize: 16384, size: 1, hashes })).toThrow(/REAL/);
      idx.setIndexedSeq(1);
    });
    expect(idx.get(b('keep'))).not.toBeNull();
    expect(idx.get(b('half'))).toBeNull();
    expect(idx.meta().indexedSeq).toBe(1);
    const raw = openDatabase(file, true);
    expect(raw.prepare('SELECT count(*) FROM blocks').pluck().get()).toBe(0);
    raw.close();
  });

  it('returns what the batch returns', () => {
    expect(idx.transaction(() => 42)).toBe(42);
  });
});
