// The ledger: capture's record of what it queued, kept in a real index in the order docs/INDEX.md
// gives — paths marked before their first append, the result and indexedSeq committed when the
// batch ends, renames and deletes applied at once, and a batch cut short left unsure.
import { mkdtempSync, statSync, writeFileSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DIRTY_QUEUING,
  DIRTY_UNSURE,
  PathIndex,
  type BlockList,
} from '../../../src/index/index.js';
import type { JournalRecord } from '../../../src/journal/types.js';
import { Ledger } from '../../../src/source/ledger.js';
import type { QueuedOp } from '../../../src/source/queued-op.js';

let dir: string;
let index: PathIndex;
let st: Stats;
let seq: number;
/** The dirty marks of each path, as the index held them when each op was appended. */
let marksAtAppend: Array<Record<string, number>>;

function marks(): Record<string, number> {
  return Object.fromEntries([...index.dirtyPaths()].map((d) => [d.path.toString(), d.flags]));
}

function ledger(): Ledger {
  return new Ledger(
    index,
    async (e) => {
      marksAtAppend.push(marks());
      return { ...e, seq: ++seq, size: 0 } as JournalRecord;
    },
    0,
  );
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'smr-ledger-'));
  index = PathIndex.open(path.join(dir, 'index.sqlite'));
  writeFileSync(path.join(dir, 'f'), 'content');
  st = statSync(path.join(dir, 'f'));
  seq = 0;
  marksAtAppend = [];
});
afterEach(() => index.close());

const hashes: BlockList = { blockSize: 16384, size: 7, hashes: BigUint64Array.of(42n) };
const put = (p: string): QueuedOp => ({
  kind: 'put',
  meta: { p, first: true, end: true, size: 7 },
});

describe('Ledger', () => {
  it('marks each path before its first append, records it with its seq, then clears', async () => {
    const l = ledger();
    await l.batched(async () => {
      await l.emit(put('a'));
      await l.emit({ kind: 'attr', meta: { p: 'a', mode: 0o600 } });
      l.record('a', st, 'file', { blocks: hashes });
      expect(index.meta().indexedSeq).toBe(0); // not before the batch ends
    });
    expect(marksAtAppend).toEqual([{ a: DIRTY_QUEUING }, { a: DIRTY_QUEUING }]);
    expect(marks()).toEqual({});
    expect(index.meta().indexedSeq).toBe(2);
    expect(l.get('a')).toMatchObject({ type: 'file', seq: 2, size: st.size, unsure: false });
    expect(l.blocks('a')?.hashes).toEqual(hashes.hashes);
    expect(l.lastSeq('a')).toBe(2);
    expect(l.lastSeq('never')).toBe(0);
  });

  it('leaves a path unsure when its batch stops half way, or queues without recording', async () => {
    const l = ledger();
    await expect(
      l.batched(async () => {
        await l.emit(put('a'));
        throw new Error('read failed');
      }),
    ).rejects.toThrow(/read failed/);
    await l.batched(async () => void (await l.emit(put('b'))));
    expect(marks()).toEqual({ a: DIRTY_UNSURE, b: DIRTY_UNSURE });
    expect(index.meta().indexedSeq).toBe(2);
    l.record('a', st, 'file', { blocks: null });
    expect(l.get('a')?.unsure).toBe(true); // a record outside a batch settles nothing
    await l.batched(async () => {
      await l.emit(put('a'));
      l.record('a', st, 'file', { blocks: hashes });
    });
    expect(marks()).toEqual({ b: DIRTY_UNSURE });
  });

  it('queues paths new to the index unmarked, and still leaves them unsure when cut short', async () => {
    const l = ledger();
    const files = (ps: string[]): QueuedOp => ({
      kind: 'files',
      meta: { f: ps.map((p): [string, number, number, number] => [p, 7, 0o644, 0]) },
    });
    await l.batched(async () => {
      await l.emit(put('old'));
      l.record('old', st, 'file', { blocks: hashes });
    });
    marksAtAppend = [];
    // `old` has an entry (marked), `new` has none (not): no write for it before or after.
    await l.batched(async () => {
      l.premark(['old', 'new'], ['new']);
      await l.emit(files(['old', 'new']));
      l.recordAll(['old', 'new'].map((rel) => ({ rel, st, type: 'file', blocks: hashes })));
    });
    expect(marksAtAppend).toEqual([{ old: DIRTY_QUEUING }]);
    expect(marks()).toEqual({});
    expect(l.get('new')).toMatchObject({ type: 'file', seq: 2, unsure: false });
    // Cut short after the append: both unsure, the unmarked one too.
    await expect(
      l.batched(async () => {
        l.premark(['old', 'n2'], ['n2']);
        await l.emit(files(['old', 'n2']));
        throw new Error('stopped');
      }),
    ).rejects.toThrow(/stopped/);
    expect(marks()).toEqual({ old: DIRTY_UNSURE, n2: DIRTY_UNSURE });
    // With marks known, recording a path queued unmarked clears what it had.
    await l.batched(async () => {
      l.premark(['n2'], ['n2']);
      await l.emit(files(['n2']));
      l.record('n2', st, 'file', { blocks: hashes });
    });
    expect(marks()).toEqual({ old: DIRTY_UNSURE });
  });

  it('sees an unsure mark at once when a batch that went well queued a path it did not record', async () => {
    const l = ledger();
    await l.batched(async () => {
      await l.emit(put('b'));
      l.record('b', st, 'file', { blocks: hashes });
    });
    expect(l.dirtyCount()).toBe(0); // no marks known: reads skip the index's marks
    await l.batched(async () => void (await l.emit(put('b'))));
    expect(marks()).toEqual({ b: DIRTY_UNSURE });
    expect(l.unsureAt('b')).toBe(true);
    expect(l.get('b')?.unsure).toBe(true);
  });

  it('applies renames and deletes at once, stamping the seq; a file over a directory drops its tree', async () => {
    const l = ledger();
    const dirSt = statSync(dir);
    await l.batched(async () => {
      l.record('d', dirSt, 'dir', { blocks: null });
      l.record('d/x', st, 'file', { blocks: hashes });
      await l.emit({ kind: 'rename', meta: { from: 'd', to: 'e' } });
    });
    expect([...l.below('e')]).toEqual(['e/x']);
    expect(l.get('d')).toBeUndefined();
    expect(l.lastSeq('e/x')).toBe(1);
    expect(l.pathsOfInode(st.dev, st.ino)).toEqual(['e/x']);
    expect(l.blocks('e/x')?.hashes).toEqual(hashes.hashes); // the hashes moved along
    await l.batched(async () => {
      await l.emit(put('e'));
      l.record('e', st, 'file', { blocks: null });
    });
    expect([...l.below('e')]).toEqual([]);
    await l.batched(async () => void (await l.emit({ kind: 'delete', meta: { p: 'e' } })));
    expect(l.get('e')).toBeUndefined();
    expect(marks()).toEqual({});
  });

  it('keeps, drops or replaces block hashes as a record says', async () => {
    const l = ledger();
    l.record('f', st, 'file', { blocks: hashes });
    l.record('f', st, 'file', { blocks: 'keep' });
    expect(l.blocks('f')).toBeDefined();
    l.record('f', st, 'file', { blocks: null });
    expect(l.blocks('f')).toBeUndefined();
  });

  it('tells subscribers every op with its seq, until they unsubscribe', async () => {
    const l = ledger();
    const seen: Array<[string, number]> = [];
    const off = l.onEmitted((e: QueuedOp, s) => seen.push([e.kind, s]));
    await l.emit({ kind: 'delete', meta: { p: 'x' } });
    off();
    await l.emit({ kind: 'delete', meta: { p: 'y' } });
    expect(seen).toEqual([['delete', 1]]);
  });

  it('keeps entries as unsure evidence when the stream restarts, and knows its baseline', async () => {
    const l = ledger();
    l.setBaseline(true);
    l.record('f', st, 'file', { blocks: hashes });
    l.restartStream(9);
    expect(l.get('f')).toMatchObject({ seq: 0, unsure: true });
    expect(l.baseline).toBe(false);
    expect(new Ledger(index, async () => ({}) as JournalRecord, 0).baseline).toBe(false);
    expect(index.meta().epoch).toBe(9);
  });
});
