// The index's bookkeeping beside the entries: dirty paths and their reasons, tombstones trimmed
// by acks, the meta seqs, reset for a new epoch, marking what a lost journal tail touched, and
// transactions that commit whole or not at all.
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import {
  DIRTY_CHANGED,
  DIRTY_QUEUING,
  DIRTY_SPILL_A,
  DIRTY_UNSURE,
  type IndexEntry,
} from '../../src/index/index.js';
import { PAGE_ROWS } from '../../src/index/cursors.js';
import { openDatabase } from '../../src/index/sqlite.js';
import { scratchIndex } from '../helpers/scratch-index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

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

const scratch = scratchIndex('smr-index-state');

describe('index dirty paths', () => {
  it('adds and takes off reasons, in path order, across a reopen', () => {
    scratch.index.markDirty(b('b/\xff'));
    scratch.index.markDirty(b('a'), DIRTY_UNSURE);
    scratch.index.markDirty(b('a'), DIRTY_CHANGED);
    scratch.index.markDirty(Buffer.alloc(0)); // the root: rescan everything
    scratch.reopen();
    const both = DIRTY_CHANGED | DIRTY_UNSURE;
    expect(scratch.index.dirtyFlags(b('a'))).toBe(both);
    expect(
      [...scratch.index.dirtyPaths()].map((d) => [d.path.toString('latin1'), d.flags]),
    ).toEqual([
      ['', DIRTY_CHANGED],
      ['a', both],
      ['b/\xff', DIRTY_CHANGED],
    ]);
    expect(scratch.index.dirtyCount(DIRTY_UNSURE)).toBe(1);
    scratch.index.clearDirty(b('a'), DIRTY_UNSURE);
    expect(scratch.index.dirtyFlags(b('a'))).toBe(DIRTY_CHANGED);
    expect(scratch.index.dirtyCount(DIRTY_UNSURE)).toBe(0);
    scratch.index.clearDirty(b('a'));
    expect(scratch.index.dirtyFlags(b('a'))).toBe(0);
    expect(scratch.index.dirtyCount()).toBe(2);
    scratch.index.clearDirty(b('never'));
    expect(scratch.index.dirtyCount()).toBe(2);
  });

  it('lists many dirty paths a page at a time, filtered by reason', () => {
    scratch.index.transaction(() => {
      for (let i = 0; i < PAGE_ROWS * 2 + 3; i++) {
        scratch.index.markDirty(b(`d/${i}`), i % 2 ? DIRTY_CHANGED : DIRTY_UNSURE);
      }
    });
    expect([...scratch.index.dirtyPaths()].length).toBe(PAGE_ROWS * 2 + 3);
    const unsure = [...scratch.index.dirtyPaths(DIRTY_UNSURE)];
    expect(unsure.length).toBe(PAGE_ROWS + 2);
    expect(unsure.every((d) => d.flags === DIRTY_UNSURE)).toBe(true);
  });

  it('drops the changed and unsure marks of a deleted subtree, and keeps every other', () => {
    // A check pending below a deleted directory is dropped as covered by its delete (capture's
    // rename windows close below it): a mark left there would hold `wait` until the next rescan.
    scratch.index.put(b('a'), { ...entry(1), type: 'dir' });
    scratch.index.put(b('a/x'), entry(2));
    scratch.index.markDirty(b('a'), DIRTY_QUEUING);
    scratch.index.markDirty(b('a/x'), DIRTY_CHANGED);
    scratch.index.markDirty(b('a/y/z'), DIRTY_UNSURE | DIRTY_SPILL_A); // no entry: marks alone go too
    scratch.index.markDirty(b('ab'), DIRTY_CHANGED); // a sibling, outside the subtree
    expect(scratch.index.deleteTree(b('a'), 3)).toBe(2);
    expect(scratch.index.dirtyFlags(b('a'))).toBe(DIRTY_QUEUING); // the op's own batch settles it
    expect(scratch.index.dirtyFlags(b('a/x'))).toBe(0);
    expect(scratch.index.dirtyFlags(b('a/y/z'))).toBe(DIRTY_SPILL_A); // a spilled hint is still looked at
    expect(scratch.index.dirtyFlags(b('ab'))).toBe(DIRTY_CHANGED);
    expect(scratch.index.dirtyCount()).toBe(2);
  });

  it('marks unsure every entry touched after a seq (a lost journal tail)', () => {
    for (let seq = 1; seq <= 10; seq++) scratch.index.put(b(`f${seq}`), entry(seq));
    scratch.index.markDirty(b('f9'), DIRTY_CHANGED);
    expect(scratch.index.markUnsureAbove(7)).toBe(3);
    expect([...scratch.index.dirtyPaths(DIRTY_UNSURE)].map((d) => d.path.toString())).toEqual([
      'f10',
      'f8',
      'f9',
    ]);
    expect(scratch.index.dirtyFlags(b('f9'))).toBe(DIRTY_CHANGED | DIRTY_UNSURE);
  });
});

describe('index tombstones and meta', () => {
  it('keeps a tombstone per deleted or moved subtree until its seq is acknowledged', () => {
    for (const p of ['a', 'a/x', 'b', 'c', 'd']) scratch.index.put(b(p), entry(1));
    scratch.index.deleteTree(b('a'), 5);
    scratch.index.delete(b('b'), 6);
    scratch.index.renameTree(b('c'), b('e'), 7);
    scratch.index.deleteTree(b('missing'), 8); // nothing was there: nothing the target could hold
    scratch.index.deleteTree(b('d'), 3); // an older seq for the same place keeps the newer one
    scratch.index.delete(b('e'), 9);
    scratch.index.put(b('d'), entry(10));
    scratch.index.deleteTree(b('d'), 4);
    const stones = () => [...scratch.index.tombstonesAbove(0)].map((t) => `${t.path}@${t.seq}`);
    expect(stones()).toEqual(['a@5', 'b@6', 'c@7', 'd@4', 'e@9']);
    expect([...scratch.index.tombstonesAbove(6)].map((t) => t.path.toString())).toEqual(['c', 'e']);
    scratch.index.setAckedSeq(6);
    expect(stones()).toEqual(['c@7', 'e@9']);
    scratch.index.setAckedSeq(2); // acks never go back
    expect(scratch.index.meta().ackedSeq).toBe(6);
    scratch.reopen();
    expect(stones()).toEqual(['c@7', 'e@9']);
  });

  it('starts at zero, keeps what is set, and resets for a new epoch', () => {
    expect(scratch.index.meta()).toEqual({
      epoch: null,
      indexedSeq: 0,
      ackedSeq: 0,
      baseline: false,
    });
    scratch.index.put(b('f'), entry(3));
    scratch.index.markDirty(b('g'));
    scratch.index.deleteTree(b('f'), 4);
    scratch.index.put(b('f'), entry(5));
    scratch.index.transaction(() => scratch.index.setIndexedSeq(5));
    expect(() => scratch.index.transaction(() => scratch.index.setAckedSeq(3))).toThrow(
      /durable commit/,
    );
    scratch.index.setAckedSeq(3); // outside a batch: fsynced, with everything before it
    scratch.index.setEpoch(77);
    scratch.index.setBaseline(true);
    scratch.reopen();
    expect(scratch.index.meta()).toEqual({ epoch: 77, indexedSeq: 5, ackedSeq: 3, baseline: true });
    expect(scratch.index.count()).toBe(1);
    scratch.index.reset(2 ** 47 + 1);
    expect(scratch.index.meta()).toEqual({
      epoch: 2 ** 47 + 1,
      indexedSeq: 0,
      ackedSeq: 0,
      baseline: false,
    });
    expect(scratch.index.count()).toBe(0);
    expect(scratch.index.dirtyCount()).toBe(0);
    expect([...scratch.index.tombstonesAbove(0)]).toEqual([]);
  });
});

describe('index acks', () => {
  it('records an ack at once and resolves once the WAL is fsynced in the thread pool', async () => {
    scratch.index.put(b('a'), entry(1));
    scratch.index.put(b('b'), entry(2));
    scratch.index.deleteTree(b('a'), 5);
    scratch.index.deleteTree(b('b'), 8);
    const synced = vi.spyOn(fs, 'fdatasync');
    const done = scratch.index.setAckedSeq(6, true);
    expect(scratch.index.meta().ackedSeq).toBe(6); // committed before the fsync returns
    expect([...scratch.index.tombstonesAbove(0)].map((t) => t.path.toString())).toEqual(['b']);
    await done;
    expect(synced).toHaveBeenCalledTimes(1);
    synced.mockRestore();
    expect(() => scratch.index.transaction(() => scratch.index.setAckedSeq(7, true))).toThrow(
      /durable commit/,
    );
    scratch.reopen();
    expect(scratch.index.meta().ackedSeq).toBe(6);
  });
});

describe('index streams', () => {
  it('restarts a stream keeping every entry, unsure and unnumbered, as evidence', () => {
    scratch.index.put(b('d'), { ...entry(4), type: 'dir' });
    scratch.index.put(b('d/f'), entry(9));
    scratch.index.deleteTree(b('gone'), 10);
    scratch.index.put(b('gone'), entry(11));
    scratch.index.deleteTree(b('gone'), 12);
    scratch.index.transaction(() => scratch.index.setIndexedSeq(12));
    scratch.index.setAckedSeq(8);
    scratch.index.setBaseline(true);
    scratch.index.restartStream(5);
    expect(scratch.index.meta()).toEqual({ epoch: 5, indexedSeq: 0, ackedSeq: 0, baseline: false });
    expect([...scratch.index.entries()].map((r) => [r.path.toString(), r.entry.seq])).toEqual([
      ['d', 0],
      ['d/f', 0],
    ]);
    expect([...scratch.index.dirtyPaths()].map((d) => [d.path.toString(), d.flags])).toEqual([
      ['d', DIRTY_UNSURE],
      ['d/f', DIRTY_UNSURE],
    ]);
    expect([...scratch.index.tombstonesAbove(0)]).toEqual([]);
  });

  it('turns one reason into another (batches cut short become unsure at open)', () => {
    scratch.index.markDirty(b('a'), DIRTY_QUEUING);
    scratch.index.markDirty(b('b'), DIRTY_QUEUING | DIRTY_CHANGED);
    scratch.index.markDirty(b('c'), DIRTY_CHANGED);
    expect(scratch.index.promoteDirty(DIRTY_QUEUING, DIRTY_UNSURE)).toBe(2);
    expect([...scratch.index.dirtyPaths()].map((d) => [d.path.toString(), d.flags])).toEqual([
      ['a', DIRTY_UNSURE],
      ['b', DIRTY_UNSURE | DIRTY_CHANGED],
      ['c', DIRTY_CHANGED],
    ]);
  });
});

describe('index transactions', () => {
  it('commits a batch whole, or on an exception not at all (meta included)', () => {
    scratch.index.transaction(() => {
      scratch.index.put(b('a'), entry(1));
      scratch.index.put(b('a/b'), entry(1));
      scratch.index.setIndexedSeq(1);
    });
    expect(() =>
      scratch.index.transaction(() => {
        scratch.index.renameTree(b('a'), b('z'), 2);
        scratch.index.put(b('n'), entry(2));
        scratch.index.markDirty(b('n'));
        scratch.index.setIndexedSeq(2);
        throw new Error('capture failed mid-batch');
      }),
    ).toThrow(/mid-batch/);
    expect([...scratch.index.entries()].map((r) => r.path.toString())).toEqual(['a', 'a/b']);
    expect(scratch.index.meta().indexedSeq).toBe(1);
    expect(scratch.index.dirtyCount()).toBe(0);
    expect([...scratch.index.tombstonesAbove(0)]).toEqual([]);
  });

  it('rolls back a failed step inside a batch without undoing the rest', () => {
    scratch.index.transaction(() => {
      scratch.index.put(b('keep'), entry(1));
      expect(() => scratch.index.put(b('bad//path'), entry(1))).toThrow(/empty component/);
      // refused by SQLite after its block hashes were written: those go too
      const hashes = new BigUint64Array([1n]);
      const bad = { ...entry(1), size: 1.5 };
      expect(() =>
        scratch.index.put(b('half'), bad, { blockSize: 16384, size: 1, hashes }),
      ).toThrow(/REAL/);
      scratch.index.setIndexedSeq(1);
    });
    expect(scratch.index.get(b('keep'))).not.toBeNull();
    expect(scratch.index.get(b('half'))).toBeNull();
    expect(scratch.index.meta().indexedSeq).toBe(1);
    const raw = openDatabase(scratch.file, true);
    expect(raw.prepare('SELECT count(*) FROM blocks').pluck().get()).toBe(0);
    raw.close();
  });

  it('returns what the batch returns', () => {
    expect(scratch.index.transaction(() => 42)).toBe(42);
  });
});
