// The checksum mirror's batched comparison on real files and a real index: a file whose content
// differs at equal size is told apart by its sha256, and files proven equal are recorded at once
// only while nothing is to be sent for them (unchanged since hashed, no op queued since, mode,
// mtime and attribute stamp as the target listed them); the others are left for the per-file step.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashBlocks, type BlockHashes } from '../../../src/delta/index.js';
import { PathIndex } from '../../../src/index/index.js';
import type { JournalRecord } from '../../../src/journal/types.js';
import type { FileSum } from '../../../src/protocol/requests.js';
import { DiskAttrs } from '../../../src/source/entry-attrs.js';
import { ctimeNsOf } from '../../../src/source/known.js';
import { Ledger } from '../../../src/source/ledger.js';
import { recordEqual } from '../../../src/source/mirror-equal.js';
import {
  HeldCandidate,
  splitBySums,
  sumSizes,
  type Candidate,
} from '../../../src/source/mirror-sums.js';

let dir: string;
let index: PathIndex;
let ledger: Ledger;
const abs = (rel: string): string => path.join(dir, rel);
const host = () => ({ ledger, abs, failed: (e: Error) => expect.fail(e.message) });

/** A file, and the candidate the scan and the target's listing make of it. */
function file(rel: string, content: string, listed: Partial<Candidate['t']> = {}): Candidate {
  writeFileSync(abs(rel), content);
  utimesSync(abs(rel), 1_700_000_000, 1_700_000_000);
  const st = statSync(abs(rel));
  const attrs = ledger.attrs.stamp(rel) ?? undefined;
  const t = {
    path: rel,
    type: 'file' as const,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
    attrs,
  };
  return { rel, st, t: { ...t, ...listed } };
}

/** Longer than a file system's ctime tick. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 25));

/** Whether `hashed` keeps the stat after the read, as the hash pool's worker does. */
let keepSeen = false;

/** The file hashed now (its stat then kept in `seen` when keepSeen: the index's one query). */
async function hashed(c: Candidate): Promise<[Candidate, BlockHashes]> {
  const h = await hashBlocks(abs(c.rel), 16384);
  if (keepSeen) c.seen = statSync(abs(c.rel));
  return [c, h];
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'smr-sums-'));
  index = PathIndex.open(path.join(dir, '.index.sqlite'));
  let seq = 0;
  const append = async (e: object) => ({ ...e, seq: ++seq, size: 0 }) as unknown as JournalRecord;
  ledger = new Ledger(index, append, 0, new DiskAttrs(abs));
});
afterEach(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('splitBySums', () => {
  it('tells a file whose content differs at equal size and mtime from equal ones', async () => {
    const same = file('same', 'hello world');
    const sneaky = file('sneaky', 'hello there');
    const gone = file('gone', 'on the source only');
    const theirs = new Map<string, FileSum | null>([
      ['same', { size: 11, sha256: createHash('sha256').update('hello world').digest('hex') }],
      ['sneaky', { size: 11, sha256: createHash('sha256').update('hello world').digest('hex') }],
      ['gone', null],
    ]);
    const asked: string[][] = [];
    const { equal, differ } = await splitBySums(dir, [same, sneaky, gone], async (paths) => {
      asked.push(paths);
      return paths.map((p) => theirs.get(p) ?? null);
    });
    expect(asked).toEqual([['same', 'sneaky', 'gone']]); // one round trip for the batch
    expect(equal.map(([c]) => c.rel)).toEqual(['same']);
    expect(equal[0]?.[1].sha256).toBe(theirs.get('same')?.sha256);
    expect(differ.map((c) => c.rel)).toEqual(['sneaky', 'gone']);
  });

  it('keeps the stat of the open file after hashing it, which shows a change since the scan', async () => {
    const kept = file('kept', 'unchanged');
    const later = file('later', 'written after the scan');
    writeFileSync(abs('later'), 'written after the scan'); // same bytes, a new mtime
    const theirs = (p: string): FileSum => {
      const body = p === 'kept' ? 'unchanged' : 'written after the scan';
      return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    };
    const { equal } = await splitBySums(dir, [kept, later], async (paths) => paths.map(theirs));
    expect(equal.map(([c]) => c.rel)).toEqual(['kept', 'later']);
    expect(kept.seen).toMatchObject({ ino: kept.st.ino, mtimeMs: kept.st.mtimeMs });
    expect(later.seen?.mtimeMs).not.toBe(later.st.mtimeMs);
    // Equal on the target, but not the file the scan saw: left to the per-file step.
    expect(recordEqual(host(), equal, 0).map(([c]) => c.rel)).toEqual(['later']);
    expect(ledger.get('kept')).toMatchObject({ ino: kept.st.ino, size: 9 });
    expect(ledger.get('later')).toBeUndefined();
  });

  it('takes the held form the mirror batches (an instance, not a literal V8 may tenure)', async () => {
    const c = file('held', 'held content');
    const held = new HeldCandidate(c.rel, c.st, c.t);
    expect(Object.getPrototypeOf(held)).not.toBe(Object.prototype);
    const sum = { size: 12, sha256: createHash('sha256').update('held content').digest('hex') };
    const { equal } = await splitBySums(dir, [held], async () => [sum]);
    expect(equal.map(([b]) => b)).toEqual([held]);
    expect(held.seen).toMatchObject({ ino: c.st.ino, mtimeMs: c.st.mtimeMs });
  });
});

describe.each([false, true])('recordEqual (stat after the read kept: %s)', (seen) => {
  beforeEach(() => void (keepSeen = seen));
  afterEach(() => void (keepSeen = false));

  it('records equal, unchanged files with their block hashes, in one go', async () => {
    const batch = [await hashed(file('a', 'aaa')), await hashed(file('b', 'bbbb'))];
    expect(recordEqual(host(), batch, 0)).toEqual([]);
    for (const [c, h] of batch) {
      const k = ledger.get(c.rel);
      expect(k).toMatchObject({ type: 'file', size: c.st.size, ino: c.st.ino, unsure: false });
      expect(k?.stamp).toBe(ledger.attrs.stamp(c.rel));
      expect(ledger.blocks(c.rel)).toEqual({
        blockSize: h.blockSize,
        size: h.size,
        hashes: h.hashes,
      });
    }
    expect(sumSizes(batch)).toBe(7);
    // Again, as a second no-change mirror: the same rows, not written again.
    const wal = statSync(`${index.file}-wal`).size;
    expect(recordEqual(host(), batch, 0)).toEqual([]);
    expect(statSync(`${index.file}-wal`).size).toBe(wal);
  });

  it('sees an op queued since for a file the batch reads from the index page by page', async () => {
    const batch = [await hashed(file('a', 'aaa')), await hashed(file('b', 'bbbb'))];
    batch.push(await hashed(file('c', 'ccccc')));
    expect(recordEqual(host(), batch, 0)).toEqual([]);
    const since = ledger.lastQueued;
    await ledger.batched(async () => {
      await ledger.emit({ kind: 'attr', meta: { p: 'b', mode: 0o644 } });
      ledger.record('b', (batch[1] as [Candidate, BlockHashes])[0].st, 'file', { blocks: null });
    });
    // In scan order, as the mirror gives it: b's row (read with a's page) holds the later op.
    expect(recordEqual(host(), batch, since).map(([c]) => c.rel)).toEqual(['b']);
    expect(ledger.blocks('b')).toBeUndefined();
  });

  it('leaves for the per-file step what changed, was queued since, or differs in attributes', async () => {
    const ok = await hashed(file('ok', 'fine'));
    const written = await hashed(file('written', 'before'));
    writeFileSync(abs('written'), 'after, longer');
    const vanished = await hashed(file('vanished', 'soon gone'));
    rmSync(abs('vanished'));
    const mode = await hashed(file('mode', 'm', { mode: 0o600 }));
    const mtime = await hashed(file('mtime', 't', { mtimeMs: 1_600_000_000_000 }));
    const owner = await hashed(file('owner', 'o'));
    owner[0].t.attrs = `12345:54321${(owner[0].t.attrs ?? '').replace(/^\d+:\d+/, '')}`;
    const queued = await hashed(file('queued', 'q'));
    await ledger.batched(async () => {
      await ledger.emit({ kind: 'attr', meta: { p: 'queued', mode: 0o644 } });
      ledger.record('queued', queued[0].st, 'file', { blocks: null });
    });
    const rest = recordEqual(host(), [ok, written, vanished, mode, mtime, owner, queued], 0);
    expect(rest.map(([c]) => c.rel)).toEqual([
      'written',
      'vanished',
      'mode',
      'mtime',
      'owner',
      'queued',
    ]);
    expect(ledger.get('ok')).toBeDefined();
    for (const rel of ['written', 'vanished', 'mode', 'mtime', 'owner'])
      expect(ledger.get(rel), rel).toBeUndefined();
    // Queued after the sums were asked for: the index keeps what that op says.
    expect(ledger.lastSeq('queued')).toBe(1);
    expect(ledger.blocks('queued')).toBeUndefined();
    // Asked after the op: its sums describe the target after it, so it is recorded.
    expect(recordEqual(host(), [queued], ledger.lastQueued)).toEqual([]);
    expect(ledger.blocks('queued')?.hashes).toEqual(queued[1].hashes);
  });

  it('takes the stamp whose ctime the index kept, and reads it again once the ctime moved', async () => {
    const c = await hashed(file('proved', 'bytes'));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // Read 3 s after the file's last change: its ctime is old enough to prove what was read.
      vi.setSystemTime(Date.now() + 3000);
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(ledger.get('proved')?.ctimeNs).toBe(ctimeNsOf(statSync(abs('proved'))));
      const reads = vi.spyOn(ledger.attrs, 'statStamp');
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(reads).not.toHaveBeenCalled();
      // A chmod to the same mode moves the ctime alone: the stamp is read again (and still equal).
      // (A real pause first: ctimes tick coarsely, and the clock's jump above is only Date's.)
      await tick();
      chmodSync(abs('proved'), 0o644);
      if (seen) c[0].seen = statSync(abs('proved')); // hashed again after it
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(reads).toHaveBeenCalledTimes(1);
      // Moved again, and the target listed other attributes: left to the per-file step.
      await tick();
      chmodSync(abs('proved'), 0o644);
      if (seen) c[0].seen = statSync(abs('proved'));
      c[0].t.attrs = `12345:54321${(c[0].t.attrs ?? '').replace(/^\d+:\d+/, '')}`;
      expect(recordEqual(host(), [c], 0).map(([x]) => x.rel)).toEqual(['proved']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes nothing for a row that holds it all, and block hashes that changed under the same stat', async () => {
    const c = await hashed(file('kept', 'bytes'));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3000); // the ctime proves the stamp read
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(ledger.get('kept')?.ctimeNs).not.toBe(0n);
      const record = vi.spyOn(ledger, 'record');
      const gets = vi.spyOn(ledger, 'get');
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(record).not.toHaveBeenCalled();
      // With the stat after the read, one query of the index decides it (no row read).
      expect(gets).toHaveBeenCalledTimes(seen ? 0 : 1);
      // The index's hashes describe other content (rewritten at equal size and mtime): replaced.
      const other: BlockHashes = { ...c[1], hashes: BigUint64Array.from([123n]) };
      expect(recordEqual(host(), [[c[0], other]], 0)).toEqual([]);
      expect(ledger.blocks('kept')?.hashes).toEqual(other.hashes);
      expect(recordEqual(host(), [c], 0)).toEqual([]);
      expect(ledger.blocks('kept')?.hashes).toEqual(c[1].hashes);
      expect(record).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps no ctime for attributes read in the same moments as the last change', async () => {
    const c = await hashed(file('fresh', 'bytes'));
    expect(recordEqual(host(), [c], 0)).toEqual([]);
    expect(ledger.get('fresh')).toMatchObject({ ctimeNs: 0n });
    expect(ledger.get('fresh')?.stamp).toBeDefined();
  });

  it('leaves a file whose mode changed after the scan (its content did not) to the per-file step', async () => {
    const moved = await hashed(file('chmodded', 'same bytes'));
    chmodSync(abs('chmodded'), 0o600);
    expect(recordEqual(host(), [moved], 0).map(([c]) => c.rel)).toEqual(['chmodded']);
    expect(ledger.get('chmodded')).toBeUndefined();
  });
});
