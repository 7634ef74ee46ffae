// Reconciliation of the tree with the index, without a watcher: what changed "while the source
// was down" is queued — renames as renames, deletions after the walk and through the brake — and
// a path never sent is not sent unless it is a change (no baseline).
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import { PathIndex, type StampsAhead } from '../../../src/index/index.js';
import type { JournalEntry } from '../../../src/journal/types.js';
import type { Capture } from '../../../src/source/capture.js';
import { listAppend, testCapture } from './capture-fixture.js';

beforeAll(() => initHash());

const past = (): Date => new Date(Date.now() - 3600_000);

/** A captured tree of `n` files in `d/`, with what was queued after it. */
async function captured(n = 4): Promise<{
  base: string;
  capture: Capture;
  queued: JournalEntry[];
  after: () => string[];
}> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-reconcile-'));
  const queued: JournalEntry[] = [];
  const capture = testCapture(base, listAppend(queued));
  capture.ledger.setBaseline(true);
  mkdirSync(path.join(base, 'd'));
  for (let i = 0; i < n; i++) writeFileSync(path.join(base, 'd', `f${i}`), `file ${i}`);
  await capture.rescan();
  await capture.idle();
  const start = queued.length;
  const after = () =>
    queued
      .slice(start)
      .map(
        (e) => `${e.kind} ${String(e.meta.p ?? `${String(e.meta.from)}->${String(e.meta.to)}`)}`,
      );
  return { base, capture, queued, after };
}

describe('reconciliation', () => {
  it('queues what changed while nothing watched: a rename as a rename, a delete after the walk', async () => {
    const { base, capture, after } = await captured();
    renameSync(path.join(base, 'd'), path.join(base, 'a')); // sorts before d: seen first
    rmSync(path.join(base, 'a', 'f0'));
    writeFileSync(path.join(base, 'a', 'f1'), 'changed, longer');
    writeFileSync(path.join(base, 'n'), 'new');
    const r = await capture.reconciler.restart({ unknown: 'all', brake: true });
    await capture.idle();
    // (a/f0 is not counted: the rename's own check of the entries it moved deletes it.)
    expect(r).toEqual({ deletes: 0, sourceEntries: 5, held: null });
    // `attr a`: the directory's new mtime after the delete in it (issue 12).
    expect(after().sort()).toEqual(['attr a', 'delete a/f0', 'put n', 'rename d->a', 'write a/f1']);
    expect(capture.ledger.dirtyCount()).toBe(0);
    expect(capture.reconciler.reconciling(0)).toBe(true); // until the target acknowledges it
    expect(capture.reconciler.reconciling(capture.ledger.lastQueued)).toBe(false);
    capture.stop();
  });

  it('holds deletions past the brake, says why, and lets them through when forced', async () => {
    const { base, capture, after } = await captured(4);
    for (let i = 0; i < 3; i++) rmSync(path.join(base, 'd', `f${i}`));
    const held = await capture.reconciler.run({ unknown: 'all', brake: true });
    expect(held.held).toMatch(/deleting 3 of 5 target entries is more than 50%/);
    expect(after()).toEqual([]);
    expect(capture.ledger.dirtyCount()).toBe(3); // kept, on disk, for the next pass
    // An ordinary rescan while they are held does not let them slip through.
    expect((await capture.rescan()).held).toMatch(/more than 50%/);
    const forced = await capture.reconciler.run({ unknown: 'all', brake: true, force: true });
    await capture.idle();
    expect(forced.held).toBeNull();
    // `attr d`: the directory's new mtime after the deletes in it (issue 12).
    expect(after().sort()).toEqual(['attr d', 'delete d/f0', 'delete d/f1', 'delete d/f2']);
    expect(capture.ledger.dirtyCount()).toBe(0);
    capture.stop();
  });

  it('never deletes the replica for an empty source', async () => {
    const { base, capture, after } = await captured(1);
    rmSync(path.join(base, 'd'), { recursive: true });
    const r = await capture.reconciler.run({ unknown: 'all', brake: true });
    expect(r.held).toMatch(/empty or missing/);
    expect(after()).toEqual([]);
    capture.stop();
  });

  it('without a baseline, sends a path the index lacks only when it is a change', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'smr-reconcile-'));
    const outside = mkdtempSync(path.join(os.tmpdir(), 'smr-outside-'));
    mkdirSync(path.join(base, 'old'));
    writeFileSync(path.join(base, 'old', 'was-there'), 'x');
    mkdirSync(path.join(outside, 'tree'));
    writeFileSync(path.join(outside, 'tree', 'inside'), 'moved in with its directory');
    await new Promise((r) => setTimeout(r, 200));
    const queued: JournalEntry[] = [];
    const capture = testCapture(base, listAppend(queued));
    // The watch began now: everything on disk predates it (the slack is a second).
    capture.watchingSince = Date.now() + 1000 - 100;
    capture.hint('old/was-there'); // as a relist would: it was there all along
    await capture.rescan();
    await new Promise((r) => setTimeout(r, 50));
    await capture.idle();
    expect(queued).toEqual([]);
    // Changes: a file created, a directory moved in (its entries come with it).
    mkdirSync(path.join(base, 'new'));
    writeFileSync(path.join(base, 'new', 'f'), 'new');
    utimesSync(path.join(base, 'new', 'f'), past(), past()); // an old mtime does not hide it
    renameSync(path.join(outside, 'tree'), path.join(base, 'tree'));
    for (const rel of ['new/f', 'tree', 'old/was-there']) capture.hint(rel);
    await new Promise((r) => setTimeout(r, 100));
    await capture.idle();
    expect(queued.map((e) => `${e.kind} ${String(e.meta.p)}`).sort()).toEqual([
      'mkdir new',
      'mkdir tree',
      'put new/f',
      'put tree/inside',
    ]);
    capture.stop();
  });

  it('after events were lost, the whole tree is looked at before wait may say synced', async () => {
    const { base, capture, after } = await captured(1);
    writeFileSync(path.join(base, 'd', 'unseen'), 'no event came');
    capture.lost('a test');
    expect(capture.ledger.dirtyCount()).toBeGreaterThan(0);
    await capture.rescan(); // after the rescan the lost() started
    await capture.idle();
    expect(after()).toEqual(['put d/unseen', 'attr d']); // then d's new mtime (issue 12)
    expect(capture.ledger.dirtyCount()).toBe(0);
    capture.stop();
  });

  it('deletes a path an unrecorded op may have put on the target, under the name it moved to', async () => {
    const { base, capture, after } = await captured(1);
    // A mkdir of d/x was queued, then the source was killed before its batch recorded it; while
    // it was down d/x went and d was renamed: the target's d/x travels with the rename.
    capture.ledger.markUnsure('d/x');
    renameSync(path.join(base, 'd'), path.join(base, 'a'));
    await capture.reconciler.restart({ unknown: 'all', brake: true });
    await capture.idle();
    expect(after()).toEqual(['rename d->a', 'delete a/x']);
    expect(capture.ledger.dirtyCount()).toBe(0);
    capture.stop();
  });

  it('without a baseline, a check sends a path an unrecorded op named, changed or not', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'smr-reconcile-'));
    writeFileSync(path.join(base, 'kept'), 'was there all along');
    writeFileSync(path.join(base, 'named'), 'a put of it was queued, the index never recorded it');
    await new Promise((r) => setTimeout(r, 200));
    const queued: JournalEntry[] = [];
    const capture = testCapture(base, listAppend(queued));
    capture.watchingSince = Date.now() + 1000 - 100;
    capture.ledger.markUnsure('named'); // the target may hold a part of it
    for (const rel of ['kept', 'named']) capture.hint(rel); // as a relist or an event would
    await new Promise((r) => setTimeout(r, 100));
    await capture.idle();
    expect(queued.map((e) => `${e.kind} ${String(e.meta.p)}`)).toEqual(['put named']);
    expect(capture.ledger.dirtyCount()).toBe(0);
    capture.stop();
  });

  it('a directory renamed during the walk (to a name already passed) is a rename, not deletions for the brake', async () => {
    const { base, capture, after } = await captured(6); // d, d/f0..f5
    writeFileSync(path.join(base, 'c'), 'sorts between b and d');
    await capture.rescan();
    await capture.idle();
    writeFileSync(path.join(base, 'c'), 'changed while the source was down');
    // The walk has passed "b" (and c) when it comes to list d: d moves to b right then, as a live
    // workload may do while a restart's walk goes on; its watcher event has not come in yet. (The
    // walk lists directories ahead of its comparisons, a chunk at a time: the move is made from the
    // hook that hears of each directory right before it is listed.)
    let moved = false;
    const beforeList = (rel: string): void => {
      if (rel !== 'd' || moved) return;
      moved = true;
      renameSync(path.join(base, 'd'), path.join(base, 'b'));
    };
    const r = await capture.reconciler.restart({ unknown: 'all', brake: true, beforeList });
    await capture.idle();
    expect(moved).toBe(true);
    expect(r.held).toBeNull();
    expect(r.deletes).toBe(0);
    expect(after().sort()).toEqual(['put c', 'rename d->b', 'write c']); // put: before the restart
    expect(capture.ledger.dirtyCount()).toBe(0);
    capture.stop();
  });

  it('a pass that finds nothing gone never counts the index (the brake has nothing to weigh)', async () => {
    const { capture, after } = await captured(3);
    const index = capture.ledger.index;
    const count = index.count.bind(index);
    let counted = 0;
    index.count = (under) => (counted++, count(under));
    const r = await capture.reconciler.restart({ unknown: 'all', brake: true });
    await capture.idle();
    expect(r).toEqual({ deletes: 0, sourceEntries: 4, held: null });
    expect(after()).toEqual([]);
    expect(counted).toBe(0);
    capture.stop();
  });
  for (const kept of [false, true]) {
    it(`past the rows read here, merges the rows its worker reads ${kept ? 'from kept pages' : 'ahead'}: every change is found`, async () => {
      const { base, capture, after } = await captured(4500);
      // Kept pages are built from the index, which nothing changes while the source is down.
      if (kept) while (!capture.ledger.index.stampPages().refresh(1000));
      // d/f998 and d/f999 sort last: rows past the first 4,096, read by the worker.
      writeFileSync(path.join(base, 'd', 'f999'), 'changed while down');
      rmSync(path.join(base, 'd', 'f998'));
      rmSync(path.join(base, 'd', 'f10')); // early: a row read here
      writeFileSync(path.join(base, 'z'), 'new, after the last row');
      const made: StampsAhead[] = [];
      const real = PathIndex.prototype.stampsAhead;
      const spy = vi.spyOn(PathIndex.prototype, 'stampsAhead').mockImplementation(function (
        this: PathIndex,
        n?: number,
      ) {
        const a = real.call(this, n);
        made.push(a);
        return a;
      });
      // Only what differs is looked at again: an entry merged with the wrong row would be too.
      const hinted: string[] = [];
      const orig = capture.hint.bind(capture);
      const hint = vi.spyOn(capture, 'hint').mockImplementation((rel: string, force?: boolean) => {
        hinted.push(rel);
        orig(rel, force);
      });
      try {
        const r = await capture.reconciler.restart({ unknown: 'all', brake: true });
        await capture.idle();
        expect(r).toEqual({ deletes: 2, sourceEntries: 4500, held: null });
      } finally {
        spy.mockRestore();
        hint.mockRestore();
      }
      // (d/f999 may be queued by the check of d, hinted first, before the walk comes to it.)
      const changed = ['d', 'd/f10', 'd/f998', 'd/f999', 'z'];
      expect(hinted.filter((rel) => !changed.includes(rel))).toEqual([]);
      expect(made.length).toBeGreaterThan(0);
      expect(made[0]?.fromWorker).toBeGreaterThan(0);
      // (Capture may drop a page the worker has yet to read, by recording a change in it.)
      if (kept) expect(made[0]?.fromKept).toBeGreaterThan(0);
      else expect(made[0]?.fromKept).toBe(0);
      expect(after().sort()).toEqual([
        'attr d',
        'delete d/f10',
        'delete d/f998',
        'put z',
        'write d/f999',
      ]);
      expect(capture.ledger.dirtyCount()).toBe(0);
      capture.stop();
    });
  }
});
