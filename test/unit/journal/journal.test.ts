// The journal against real files: round trips, rollover, ack/trim, recovery from torn and damaged
// tails, reset, limits, the in-memory hot tail, and a child process SIGKILLed mid-stream.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DurableCounter } from '../../../src/shared/durable-counter.js';
import { HOT_ENTRY_OVERHEAD_BYTES, HotTail } from '../../../src/journal/hot-tail.js';
import { encodeEntry, sealRecord } from '../../../src/journal/record.js';
import type { Segment } from '../../../src/journal/segment.js';
import {
  ACK_FILE,
  Journal,
  JournalTrimmedError,
  MAX_DATA_BYTES,
  MAX_META_BYTES,
  type JournalReader,
  type JournalRecord,
} from '../../../src/journal/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_JOURNAL = path.join(ROOT, 'dist/journal/journal.js');

let dir: string;
const open: Journal[] = [];

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-journal-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const j of open.splice(0)) await j.close().catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

async function openJournal(opts?: Parameters<typeof Journal.open>[1]): Promise<Journal> {
  const j = await Journal.open(dir, opts);
  open.push(j);
  return j;
}

/** Deterministic payload for seq n, so any record can be checked on its own. */
function payload(n: number): Buffer {
  return Buffer.alloc(n % 97, n % 251);
}

async function appendN(j: Journal, from: number, count: number): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  for (let n = from; n < from + count; n++) {
    out.push(
      await j.append({ kind: 'write', meta: { n, path: `dir/file-${n}` }, data: payload(n) }),
    );
  }
  return out;
}

async function readAll(j: Journal, fromSeq: number): Promise<JournalRecord[]> {
  const reader = j.reader(fromSeq);
  const out: JournalRecord[] = [];
  for (let rec = await reader.next(); rec; rec = await reader.next()) out.push(rec);
  await reader.close();
  return out;
}

async function segmentFiles(): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
}

async function segmentBytesOnDisk(): Promise<number> {
  let sum = 0;
  for (const f of await segmentFiles()) sum += (await fsp.stat(path.join(dir, f))).size;
  return sum;
}

function expectRecord(rec: JournalRecord | undefined, n: number): void {
  expect(rec?.seq).toBe(n);
  expect(rec?.kind).toBe('write');
  expect(rec?.meta).toEqual({ n, path: `dir/file-${n}` });
  expect(rec?.data?.equals(payload(n))).toBe(true);
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ name: 'SmrError', code });
}

describe('journal: append and read', () => {
  it('round-trips kind, meta and data, with and without a data buffer', async () => {
    const j = await openJournal();
    const big = Buffer.alloc(1024 * 1024 + 3, 7); // larger than the reader's buffer
    const a = await j.append({
      kind: 'write',
      meta: { path: 'a', mode: 0o644 },
      data: Buffer.from('hello'),
    });
    const b = await j.append({ kind: 'delete', meta: { path: 'b', nested: { x: [1, 2] } } });
    const c = await j.append({ kind: 'write', meta: {}, data: Buffer.alloc(0) });
    const d = await j.append({ kind: 'wrïte', meta: { path: 'ünïcode' }, data: big });
    expect([a.seq, b.seq, c.seq, d.seq]).toEqual([1, 2, 3, 4]);
    const recs = await readAll(j, 1);
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(recs[0]).toMatchObject({
      kind: 'write',
      meta: { path: 'a', mode: 0o644 },
      size: a.size,
    });
    expect(recs[0]?.data?.toString()).toBe('hello');
    expect(recs[1]).toMatchObject({ kind: 'delete', meta: { path: 'b', nested: { x: [1, 2] } } });
    expect(recs[1]?.data).toBeUndefined();
    expect(recs[2]?.data?.length).toBe(0);
    expect(recs[3]?.kind).toBe('wrïte');
    expect(recs[3]?.meta).toEqual({ path: 'ünïcode' });
    expect(recs[3]?.data?.equals(big)).toBe(true);
    expect(await segmentBytesOnDisk()).toBe(a.size + b.size + c.size + d.size);
  });

  it('assigns contiguous seqs from 1 in call order, even for concurrent appends', async () => {
    const j = await openJournal({ segmentBytes: 4096 });
    expect(j.lastSeq).toBe(0);
    const recs = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        j.append({
          kind: 'write',
          meta: { n: i + 1, path: `dir/file-${i + 1}` },
          data: payload(i + 1),
        }),
      ),
    );
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(j.lastSeq).toBe(300);
    const read = await readAll(j, 1);
    read.forEach((rec, i) => expectRecord(rec, i + 1));
    expect(read).toHaveLength(300);
  });

  it('reads across segment rollover', async () => {
    const j = await openJournal({ segmentBytes: 512 });
    await appendN(j, 1, 100);
    expect((await segmentFiles()).length).toBeGreaterThan(10);
    expect(await segmentFiles()).toContain('00000000000000000001.seg');
    const recs = await readAll(j, 1);
    expect(recs).toHaveLength(100);
    recs.forEach((rec, i) => expectRecord(rec, i + 1));
  });

  it('starts a reader in the middle, in a later segment', async () => {
    const j = await openJournal({ segmentBytes: 700 });
    await appendN(j, 1, 80);
    const recs = await readAll(j, 37);
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 44 }, (_, i) => 37 + i));
    recs.forEach((rec) => expectRecord(rec, rec.seq));
    expect(await readAll(j, 81)).toEqual([]);
  });

  it('returns null when caught up, then sees later appends; onAppend notifies', async () => {
    const j = await openJournal({ segmentBytes: 600 });
    const reader = j.reader(1);
    expect(await reader.next()).toBeNull();
    let calls = 0;
    const unsubscribe = j.onAppend(() => calls++);
    await appendN(j, 1, 3);
    expect(calls).toBeGreaterThan(0);
    expectRecord((await reader.next()) ?? undefined, 1);
    expectRecord((await reader.next()) ?? undefined, 2);
    expectRecord((await reader.next()) ?? undefined, 3);
    expect(await reader.next()).toBeNull();
    const woken = new Promise<void>((resolve) => {
      const off = j.onAppend(() => {
        off();
        resolve();
      });
    });
    void appendN(j, 4, 30);
    await woken;
    const seen: number[] = [];
    while (seen.length < 30) {
      const rec = await reader.next();
      if (rec) seen.push(rec.seq);
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 4 + i));
    unsubscribe();
    const before = calls;
    await appendN(j, 34, 1);
    expect(calls).toBe(before);
    await reader.close();
  });

  it('refuses oversize entries with a usage error and keeps working', async () => {
    const j = await openJournal();
    await rejectsWithCode(
      j.append({ kind: 'write', meta: {}, data: Buffer.alloc(MAX_DATA_BYTES + 1) }),
      'usage',
    );
    await rejectsWithCode(
      j.append({ kind: 'write', meta: { s: 'x'.repeat(MAX_META_BYTES) } }),
      'usage',
    );
    await rejectsWithCode(j.append({ kind: '', meta: {} }), 'usage');
    const ok = await j.append({ kind: 'write', meta: {}, data: Buffer.alloc(MAX_DATA_BYTES) });
    expect(ok.seq).toBe(1);
    const [rec] = await readAll(j, 1);
    expect(rec?.data?.length).toBe(MAX_DATA_BYTES);
  });

  it('sync() completes and rejects after close', async () => {
    const j = await openJournal({ syncIntervalMs: 10_000 });
    await appendN(j, 1, 5);
    await j.sync();
    await j.close();
    await rejectsWithCode(j.sync(), 'usage');
    await rejectsWithCode(j.append({ kind: 'write', meta: {} }), 'usage');
  });
});

describe('journal: ack and trim', () => {
  // With a hot tail the ack cursor jumps to where the next record starts; without, it walks there.
  it.each([
    ['with', undefined],
    ['without', 0],
  ])('trims whole acked segments and shrinks stats exactly (%s a hot tail)', async (_, hot) => {
    const j = await openJournal({ segmentBytes: 512, hotTailBytes: hot });
    const recs = await appendN(j, 1, 100);
    const bytesFrom = (seq: number) =>
      recs.filter((r) => r.seq >= seq).reduce((s, r) => s + r.size, 0);
    expect(j.stats()).toEqual({ ops: 100, bytes: bytesFrom(1) });
    const filesBefore = (await segmentFiles()).length;

    await j.ack(50);
    expect(j.ackedSeq).toBe(50);
    expect(j.stats()).toEqual({ ops: 50, bytes: bytesFrom(51) });
    const filesAfter = await segmentFiles();
    expect(filesAfter.length).toBeLessThan(filesBefore);
    expect(Number(filesAfter[0]?.slice(0, 20))).toBeLessThanOrEqual(51);

    await j.ack(40); // behind: ignored
    expect(j.ackedSeq).toBe(50);
    await rejectsWithCode(j.ack(101), 'usage');

    const rest = await readAll(j, 51);
    expect(rest.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 51 + i));
    await expect(readAll(j, 1)).rejects.toBeInstanceOf(JournalTrimmedError);

    await j.ack(100);
    expect(j.stats()).toEqual({ ops: 0, bytes: 0 });
    expect((await segmentFiles()).length).toBe(1); // the active segment stays
    const more = await appendN(j, 101, 20);
    expect(more[0]?.seq).toBe(101);
    expect(j.stats()).toEqual({ ops: 20, bytes: more.reduce((s, r) => s + r.size, 0) });
    await j.ack(110);
    expect(j.stats()).toEqual({ ops: 10, bytes: bytesOf(more, 111) });
  });

  it('keeps up with a sender that reads and acks while segments roll and get trimmed', async () => {
    const j = await openJournal({ segmentBytes: 300 });
    const reader = j.reader(1);
    const sizes = new Map<number, number>();
    let next = 1;
    for (let round = 0; round < 40; round++) {
      for (const r of await appendN(j, next, 5)) sizes.set(r.seq, r.size);
      next += 5;
      for (let rec = await reader.next(); rec; rec = await reader.next()) {
        expectRecord(rec, rec.seq);
        if (rec.seq % 3 === 0) await j.ack(rec.seq);
      }
    }
    await j.ack(next - 2);
    expect(j.stats()).toEqual({ ops: 1, bytes: sizes.get(next - 1) });
    expect((await segmentFiles()).length).toBeLessThanOrEqual(2);
    // A fresh sender resuming at ackedSeq + 1 starts from the ack cursor, not the segment start.
    const resumed = await readAll(j, j.ackedSeq + 1);
    expect(resumed.map((r) => r.seq)).toEqual([next - 1]);
    await reader.close();
  });

  it('lets a reader behind ackedSeq finish its open segment, then fail clearly', async () => {
    // Without the hot tail: a reader served from memory has no segment open to finish.
    const j = await openJournal({ segmentBytes: 400, hotTailBytes: 0 });
    await appendN(j, 1, 60);
    const reader = j.reader(1);
    expectRecord((await reader.next()) ?? undefined, 1);
    await j.ack(55); // deletes the segment the reader has open, and the ones after it
    expect(await segmentFiles()).not.toContain('00000000000000000001.seg');
    let seq = 1;
    const drain = async () => {
      for (let rec = await reader.next(); rec; rec = await reader.next()) {
        expectRecord(rec, ++seq);
      }
    };
    await expect(drain()).rejects.toBeInstanceOf(JournalTrimmedError);
    expect(seq).toBeGreaterThan(1); // the rest of the open segment was still readable
    await reader.close();
  });

  it('keeps lastSeq, ackedSeq and stats across close and reopen', async () => {
    const j = await openJournal({ segmentBytes: 400 });
    const recs = await appendN(j, 1, 30);
    await j.ack(12);
    const stats = j.stats();
    expect(stats).toEqual({ ops: 18, bytes: bytesOf(recs, 13) });
    await j.close();

    const k = await openJournal({ segmentBytes: 400 });
    expect(k.lastSeq).toBe(30);
    expect(k.ackedSeq).toBe(12);
    expect(k.stats()).toEqual(stats);
    const next = await k.append({
      kind: 'write',
      meta: { n: 31, path: 'dir/file-31' },
      data: payload(31),
    });
    expect(next.seq).toBe(31);
    const recs2 = await readAll(k, 13);
    expect(recs2.map((r) => r.seq)).toEqual(Array.from({ length: 19 }, (_, i) => 13 + i));
    recs2.forEach((r) => expectRecord(r, r.seq));
    await k.ack(20);
    expect(k.stats()).toEqual({ ops: 11, bytes: bytesOf([...recs, next], 21) });
  });

  it('on reopen, finishes an ack whose segment deletion a crash interrupted', async () => {
    const j = await openJournal({ segmentBytes: 400 });
    const recs = await appendN(j, 1, 30);
    await j.close();
    const counter = await DurableCounter.open(path.join(dir, ACK_FILE));
    await counter.set(20);
    await counter.close();
    const files = (await segmentFiles()).length;
    const k = await openJournal({ segmentBytes: 400 });
    expect(k.ackedSeq).toBe(20);
    expect(k.stats()).toEqual({ ops: 10, bytes: bytesOf(recs, 21) });
    expect((await segmentFiles()).length).toBeLessThan(files);
    expect((await readAll(k, 21)).map((r) => r.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 21 + i),
    );
  });

  it('treats an acked seq beyond the records on disk (lost unsynced tail) as lastSeq', async () => {
    const j = await openJournal({ segmentBytes: 400 });
    await appendN(j, 1, 30);
    await j.close();
    const counter = await DurableCounter.open(path.join(dir, ACK_FILE));
    await counter.set(40);
    await counter.close();
    const k = await openJournal({ segmentBytes: 400 });
    expect(k.lastSeq).toBe(40);
    expect(k.stats()).toEqual({ ops: 0, bytes: 0 });
    expect(await segmentFiles()).toEqual([]);
    expect((await k.append({ kind: 'write', meta: {} })).seq).toBe(41);
  });
});

describe('journal: recovery', () => {
  it('cuts a torn last record and continues from the last valid seq', async () => {
    const j = await openJournal({ segmentBytes: 1000 });
    const recs = await appendN(j, 1, 25);
    await j.close();
    const files = await segmentFiles();
    const last = path.join(dir, files[files.length - 1]!);
    const size = (await fsp.stat(last)).size;
    const lastRec = recs[recs.length - 1]!;
    await fsp.truncate(last, size - Math.ceil(lastRec.size / 2));

    const k = await openJournal({ segmentBytes: 1000 });
    expect(k.lastSeq).toBe(24);
    expect((await fsp.stat(last)).size).toBe(size - lastRec.size);
    const next = await k.append({
      kind: 'write',
      meta: { n: 25, path: 'dir/file-25' },
      data: payload(25),
    });
    expect(next.seq).toBe(25);
    const all = await readAll(k, 1);
    expect(all).toHaveLength(25);
    all.forEach((r, i) => expectRecord(r, i + 1));
  });

  it('cuts garbage appended after the last record', async () => {
    const j = await openJournal();
    await appendN(j, 1, 10);
    await j.close();
    const [file] = await segmentFiles();
    const seg = path.join(dir, file!);
    const size = (await fsp.stat(seg)).size;
    await fsp.appendFile(seg, Buffer.from('this is not a record, just junk after a crash'));
    const k = await openJournal();
    expect(k.lastSeq).toBe(10);
    expect((await fsp.stat(seg)).size).toBe(size);
    expect((await k.append({ kind: 'write', meta: {} })).seq).toBe(11);
  });

  it('drops everything from a damaged record in the last segment onwards', async () => {
    const j = await openJournal();
    const recs = await appendN(j, 1, 10);
    await j.close();
    const [file] = await segmentFiles();
    const seg = path.join(dir, file!);
    const offset5 = bytesOf(recs, 1) - bytesOf(recs, 5); // where record 5 starts
    await flipByte(seg, offset5 + 30);

    const k = await openJournal();
    expect(k.lastSeq).toBe(4);
    expect((await fsp.stat(seg)).size).toBe(offset5);
    expect((await readAll(k, 1)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect((await k.append({ kind: 'write', meta: {} })).seq).toBe(5);
  });

  it('accepts an empty last segment left by a crash right after rollover', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 20);
    await j.close();
    await fsp.writeFile(path.join(dir, '00000000000000000021.seg'), '');
    const k = await openJournal({ segmentBytes: 500 });
    expect(k.lastSeq).toBe(20);
    expect((await k.append({ kind: 'write', meta: {} })).seq).toBe(21);
    expect((await readAll(k, 19)).map((r) => r.seq)).toEqual([19, 20, 21]);
  });

  it('refuses to open when an earlier segment is damaged', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 40);
    await j.close();
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(2);
    await flipByte(path.join(dir, files[0]!), 40);
    await rejectsWithCode(Journal.open(dir, { segmentBytes: 500 }), 'journal-corrupt');
  });

  it('refuses to open when an earlier segment is torn or missing', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 40);
    await j.close();
    const files = await segmentFiles();
    const second = path.join(dir, files[1]!);
    await fsp.truncate(second, (await fsp.stat(second)).size - 3);
    await rejectsWithCode(Journal.open(dir, { segmentBytes: 500 }), 'journal-corrupt');
    await fsp.rm(second);
    await rejectsWithCode(Journal.open(dir, { segmentBytes: 500 }), 'journal-corrupt');
  });
});

describe('journal: reset', () => {
  it('drops everything and restarts numbering at nextSeq', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 30);
    await j.ack(3);
    const stale = j.reader(5);
    expectRecord((await stale.next()) ?? undefined, 5);
    await j.reset(100);
    expect(j.lastSeq).toBe(99);
    expect(j.ackedSeq).toBe(99);
    expect(j.stats()).toEqual({ ops: 0, bytes: 0 });
    expect(await segmentFiles()).toEqual([]);
    await expect(stale.next()).rejects.toBeInstanceOf(JournalTrimmedError);
    const rec = await j.append({ kind: 'write', meta: { after: 'reset' } });
    expect(rec.seq).toBe(100);
    expect(j.stats()).toEqual({ ops: 1, bytes: rec.size });
    await j.close();

    const k = await openJournal({ segmentBytes: 500 });
    expect(k.lastSeq).toBe(100);
    expect(k.ackedSeq).toBe(99);
    const recs = await readAll(k, 100);
    expect(recs.map((r) => [r.seq, r.meta])).toEqual([[100, { after: 'reset' }]]);
  });

  it('finishes a reset interrupted by a crash on the next open', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 30);
    await j.close();
    const counter = await DurableCounter.open(path.join(dir, ACK_FILE));
    await counter.set(9, 1); // what reset records before it starts deleting
    await counter.close();
    const k = await openJournal({ segmentBytes: 500 });
    expect(await segmentFiles()).toEqual([]);
    expect(k.lastSeq).toBe(9);
    expect(k.ackedSeq).toBe(9);
    expect((await k.append({ kind: 'write', meta: {} })).seq).toBe(10);
  });
});

describe('journal: hot tail', () => {
  /** Counts segment files opened for reading (readers and the ack cursor; no acks while counting). */
  function countSegmentReads(): { readonly count: number } {
    const spy = vi.spyOn(fsp, 'open');
    return {
      get count() {
        return spy.mock.calls.filter(
          ([file, flags]) => String(file).endsWith('.seg') && flags === 'r',
        ).length;
      },
    };
  }

  /** Counted tail bytes of the record appended as seq n by appendN. */
  async function tailCostOf(n: number): Promise<number> {
    const probe = await Journal.open(path.join(dir, 'probe'), { hotTailBytes: 0 });
    const rec = await probe.append({
      kind: 'write',
      meta: { n, path: `dir/file-${n}` },
      data: payload(n),
    });
    await probe.close();
    await fsp.rm(path.join(dir, 'probe'), { recursive: true });
    return rec.size + HOT_ENTRY_OVERHEAD_BYTES;
  }

  /** The seqs currently in the hot tail, oldest first (it must be one contiguous run up to lastSeq). */
  /** The first held seq where a reader on disk switches to memory (HotTail.settled). */
  function settledFrom(j: Journal): number {
    const seq = heldSeqs(j).find((s) => j.hotSettled(s));
    if (seq === undefined) throw new Error('no settled record in the hot tail');
    return seq;
  }

  function heldSeqs(j: Journal): number[] {
    const held: number[] = [];
    for (let seq = j.lastSeq; seq > 0 && j.hotRecord(seq); seq--) held.unshift(seq);
    return held;
  }

  async function nextN(reader: JournalReader, count: number): Promise<JournalRecord[]> {
    const out: JournalRecord[] = [];
    for (let i = 0; i < count; i++) {
      const rec = await reader.next();
      if (!rec) throw new Error(`reader ran dry after ${out.length} of ${count}`);
      out.push(rec);
    }
    return out;
  }

  /** Records with data as hex: a deep comparison of large Buffers element by element is slow. */
  const comparable = (recs: JournalRecord[]) =>
    recs.map(({ data, ...rest }) => (data ? { ...rest, data: data.toString('hex') } : rest));

  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('serves records from memory identical to the ones read back from disk', async () => {
    const j = await openJournal({ segmentBytes: 64 * 1024 });
    const reused = Buffer.from('first content');
    const meta: Record<string, unknown> = { path: 'a', gone: undefined, when: new Date(0) };
    await j.append({ kind: 'write', meta, data: reused });
    // The caller may reuse its objects once append resolved: what was written is what counts.
    reused.fill(0);
    meta.path = 'changed';
    await j.append({ kind: 'delete', meta: { path: 'b', nested: { x: [1, 2.5, null] } } });
    await j.append({ kind: 'write', meta: {}, data: Buffer.alloc(0) });
    await j.append({ kind: 'wrïte', meta: { path: 'ünïcode' }, data: Buffer.alloc(200 * 1024, 9) });
    await j.append({
      kind: 'write',
      meta: { big: 'x'.repeat(5000) },
      data: Buffer.alloc(70_000, 3),
    });
    await appendN(j, 6, 2000); // more than one copy chunk, and several segments

    const reads = countSegmentReads();
    const fromMemory = await readAll(j, 1);
    expect(reads.count).toBe(0); // all of it came from the hot tail
    expect(fromMemory[0]?.data?.toString()).toBe('first content');
    expect(fromMemory[0]?.meta).toStrictEqual({ path: 'a', when: '1970-01-01T00:00:00.000Z' });
    await j.close();

    const k = await openJournal({ segmentBytes: 64 * 1024 });
    expect(k.hotRecord(1)).toBeUndefined(); // empty after a restart
    const fromDisk = await readAll(k, 1);
    expect(reads.count).toBeGreaterThan(0);
    expect(fromDisk).toHaveLength(2005);
    expect(comparable(fromMemory)).toStrictEqual(comparable(fromDisk));
  });

  it('hands out a fresh copy of the data read from disk', async () => {
    const j = await openJournal({ hotTailBytes: 0 });
    await appendN(j, 1, 3);
    const [a] = await readAll(j, 2);
    a?.data?.fill(0xee); // the reader's buffer is reused for the next records
    expectRecord((await readAll(j, 2))[0], 2);
  });

  it('keeps only the newest records within its byte bound, and none bigger than the bound', async () => {
    const cost = await tailCostOf(969); // the largest of records 1..1000 (96 bytes of data)
    const bound = 40 * cost;
    const j = await openJournal({ segmentBytes: 8192, hotTailBytes: bound });
    await appendN(j, 1, 1000);
    const held = heldSeqs(j);
    expect(held.at(-1)).toBe(1000);
    expect(j.hotRecord(held[0]! - 1)).toBeUndefined();
    const counted = held.reduce((sum, seq) => sum + j.hotRecord(seq)!.size, 0);
    const total = counted + held.length * HOT_ENTRY_OVERHEAD_BYTES;
    expect(total).toBeLessThanOrEqual(bound);
    expect(total).toBeGreaterThan(bound - cost); // only as many dropped as needed

    const big = await j.append({ kind: 'write', meta: {}, data: Buffer.alloc(bound) });
    expect(heldSeqs(j)).toEqual([]); // too big to hold; the older ones are not the newest run any more
    await appendN(j, 1002, 3);
    expect(heldSeqs(j)).toEqual([1002, 1003, 1004]);
    const recs = await readAll(j, 995);
    expect(recs.map((r) => r.seq)).toEqual(range(995, 1004));
    expect(recs.find((r) => r.seq === big.seq)?.data?.length).toBe(bound);
  });

  it('lets a reader fall behind the bound mid-way and resume from disk with no gap or duplicate', async () => {
    const cost = await tailCostOf(100);
    const j = await openJournal({ segmentBytes: 2000, hotTailBytes: 30 * cost });
    await appendN(j, 1, 100);
    const tailStart = heldSeqs(j)[0]!;
    expect(tailStart).toBeGreaterThan(60); // 1..60 only on disk
    const reader = j.reader(1);
    const reads = countSegmentReads();
    const switchAt = settledFrom(j); // a reader on disk moves to memory only well inside the tail
    expect(switchAt).toBeLessThan(90);
    const seen = await nextN(reader, switchAt - 1); // from disk
    const diskOpens = reads.count;
    expect(diskOpens).toBeGreaterThan(0);
    seen.push(...(await nextN(reader, 90 - switchAt + 1))); // from memory, stopping at 90
    expect(reads.count).toBe(diskOpens);

    // Paused at 91 while more than the whole bound is appended: 91 is no longer in memory.
    await appendN(j, 101, 100);
    expect(j.hotRecord(91)).toBeUndefined();
    seen.push(...(await nextN(reader, 110))); // disk again, then memory again
    expect(reads.count).toBeGreaterThan(diskOpens);
    expect(await reader.next()).toBeNull();

    // And once more, in memory: caught up, it reads new records without opening anything.
    const opens = reads.count;
    await appendN(j, 201, 10);
    seen.push(...(await nextN(reader, 10)));
    expect(reads.count).toBe(opens);
    expect(seen.map((r) => r.seq)).toEqual(range(1, 210));
    seen.forEach((rec) => expectRecord(rec, rec.seq));
    await reader.close();
  });

  it('resumes on disk exactly where memory left off, not by rescanning the segment', async () => {
    const cost = await tailCostOf(50);
    const j = await openJournal({ hotTailBytes: 20 * cost }); // one segment for everything
    const recs = await appendN(j, 1, 60);
    const reader = j.reader(45);
    expect((await nextN(reader, 6)).map((r) => r.seq)).toEqual(range(45, 50)); // from memory
    // Damage record 5's length field: scanning the segment from its start would now fail.
    const [file] = await segmentFiles();
    const offset5 = bytesOf(recs, 1) - bytesOf(recs, 5);
    const fh = await fsp.open(path.join(dir, file!), 'r+');
    await fh.write(Buffer.from([1, 0, 0, 0]), 0, 4, offset5);
    await fh.close();
    await appendN(j, 61, 60); // 51 falls out of memory
    expect(j.hotRecord(51)).toBeUndefined();
    const rest = await nextN(reader, 70);
    expect(rest.map((r) => r.seq)).toEqual(range(51, 120));
    rest.forEach((rec) => expectRecord(rec, rec.seq));
    await reader.close();
    await expect(readAll(j, 1)).rejects.toMatchObject({ code: 'journal-corrupt' }); // the damage is real
  });

  it('starts a reader created before the tail on disk, then switches to memory', async () => {
    const cost = await tailCostOf(300);
    const j = await openJournal({ segmentBytes: 3000, hotTailBytes: 25 * cost });
    await appendN(j, 1, 300);
    const tailStart = heldSeqs(j)[0]!;
    expect(tailStart).toBeGreaterThan(250);
    const reads = countSegmentReads();
    const reader = j.reader(10);
    const switchAt = settledFrom(j);
    expect(switchAt).toBeGreaterThanOrEqual(tailStart);
    const early = await nextN(reader, switchAt - 10);
    const opens = reads.count;
    expect(opens).toBeGreaterThan(0);
    const late = await nextN(reader, 300 - switchAt + 1);
    expect(reads.count).toBe(opens);
    expect(await reader.next()).toBeNull();
    const all = [...early, ...late];
    expect(all.map((r) => r.seq)).toEqual(range(10, 300));
    all.forEach((rec) => expectRecord(rec, rec.seq));
    await reader.close();
  });

  it('keeps up with a concurrent appender while falling in and out of memory', async () => {
    const cost = await tailCostOf(1000);
    const j = await openJournal({ segmentBytes: 4000, hotTailBytes: 15 * cost });
    const total = 3000;
    let rnd = 12345;
    const random = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const appender = (async () => {
      for (let n = 1; n <= total; n += 10) {
        await Promise.all(range(n, n + 9).map((k) => appendN(j, k, 1)));
        if (random() < 0.3) await new Promise((r) => setImmediate(r));
      }
    })();
    const reads = countSegmentReads();
    const reader = j.reader(1);
    let expected = 1;
    while (expected <= total) {
      const rec = await reader.next();
      if (!rec) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      expect(rec.seq).toBe(expected++);
      expectRecord(rec, rec.seq);
      if (random() < 0.02) await new Promise((r) => setTimeout(r, 2)); // fall behind now and then
    }
    await appender;
    await reader.close();
    expect(reads.count).toBeGreaterThan(0); // it did fall out of memory (and back in)
  });

  it('drops acked records from memory; a reader behind ackedSeq gets what the disk says', async () => {
    const j = await openJournal({ segmentBytes: 400 });
    await appendN(j, 1, 60);
    const behind = j.reader(1);
    expectRecord((await behind.next()) ?? undefined, 1); // from memory: no segment open
    await j.ack(40);
    expect(j.hotRecord(40)).toBeUndefined();
    expect(j.hotRecord(41)?.seq).toBe(41);
    await expect(behind.next()).rejects.toBeInstanceOf(JournalTrimmedError);
    const reads = countSegmentReads();
    const rest = await readAll(j, 41);
    expect(reads.count).toBe(0);
    expect(rest.map((r) => r.seq)).toEqual(range(41, 60));
    rest.forEach((rec) => expectRecord(rec, rec.seq));
    await behind.close();
  });

  it('forgets every old record on reset, even when the new seqs reuse the old ones', async () => {
    const j = await openJournal({ segmentBytes: 500 });
    await appendN(j, 1, 30);
    const positioned = j.reader(1);
    await nextN(positioned, 6); // now waiting for 7, read from memory
    const stale = j.reader(2);
    await nextN(stale, 1); // waiting for 3
    await j.reset(5);
    expect(heldSeqs(j)).toEqual([]);
    for (let n = 5; n <= 10; n++) await j.append({ kind: 'write', meta: { n, after: 'reset' } });
    expect(heldSeqs(j)).toEqual(range(5, 10));
    // As on disk: a reader at nextSeq or later gets the new records, one below it is told they are gone.
    expect((await nextN(positioned, 4)).map((r) => r.meta)).toEqual(
      range(7, 10).map((n) => ({ n, after: 'reset' })),
    );
    await expect(stale.next()).rejects.toBeInstanceOf(JournalTrimmedError);
    const fromMemory = await readAll(j, 5);
    await j.close();
    const k = await openJournal({ segmentBytes: 500 });
    expect(await readAll(k, 5)).toStrictEqual(fromMemory);
  });

  it('drops everything on close; readers are refused and a reopened journal starts empty', async () => {
    const j = await openJournal();
    await appendN(j, 1, 10);
    const reader = j.reader(1);
    const first = await nextN(reader, 3);
    expect(j.hotRecord(10)?.seq).toBe(10);
    await j.close();
    expect(j.hotRecord(10)).toBeUndefined();
    await rejectsWithCode(reader.next(), 'usage');
    const k = await openJournal();
    expect(k.hotRecord(10)).toBeUndefined();
    expect((await readAll(k, 1)).slice(0, 3)).toStrictEqual(first);
    const more = await appendN(k, 11, 1);
    expect(k.hotRecord(11)?.seq).toBe(more[0]?.seq);
  });

  it('refuses a negative or fractional bound; 0 turns the tail off', async () => {
    await rejectsWithCode(Journal.open(dir, { hotTailBytes: -1 }), 'usage');
    await rejectsWithCode(Journal.open(dir, { hotTailBytes: 1.5 }), 'usage');
    const j = await openJournal({ hotTailBytes: 0 });
    await appendN(j, 1, 5);
    expect(heldSeqs(j)).toEqual([]);
    expect((await readAll(j, 1)).map((r) => r.seq)).toEqual(range(1, 5));
  });

  it('keeps handed-over data as it is, and copies the rest', async () => {
    const j = await openJournal();
    const given = Buffer.alloc(100_000, 1);
    const lent = Buffer.alloc(100_000, 2);
    const view = Buffer.alloc(1_000_000, 3).subarray(0, 1000); // a small view of a big buffer
    await j.append({ kind: 'put', meta: {}, data: given, handOver: true });
    await j.append({ kind: 'put', meta: {}, data: lent });
    await j.append({ kind: 'put', meta: {}, data: view, handOver: true });
    expect(j.hotRecord(1)?.data?.buffer).toBe(given.buffer);
    expect(j.hotRecord(2)?.data?.buffer).not.toBe(lent.buffer);
    expect(j.hotRecord(3)?.data?.buffer).not.toBe(view.buffer); // it would hold 1 MB for 1 KB
    lent.fill(0); // a lender may reuse its buffer once append resolved
    const recs = await readAll(j, 1);
    expect(recs.map((r) => r.data?.[0])).toEqual([1, 2, 3]);
    expect(recs.map((r) => r.data?.length)).toEqual([100_000, 100_000, 1000]);
  });

  it('HotTail: indexes correctly across many evictions and compactions', () => {
    const seg: Segment = { firstSeq: 1, file: 'x.seg', size: 0 };
    const encoded = (seq: number) => {
      const enc = encodeEntry({
        kind: 'k',
        meta: { seq },
        data: Buffer.alloc(seq % 50, seq % 256),
      });
      sealRecord(enc, seq);
      return enc;
    };
    const tail = new HotTail(3000 * (HOT_ENTRY_OVERHEAD_BYTES + 100));
    let offset = 0;
    for (let seq = 1; seq <= 20_000; seq++) {
      const enc = encoded(seq);
      tail.add(seq, enc, seg, offset);
      offset += enc.size;
      if (seq % 997 === 0) tail.dropThrough(seq - 500);
    }
    expect(tail.size).toBeLessThanOrEqual(tail.limit);
    const first = 20_001 - tail.count;
    expect(first).toBeGreaterThan(15_000);
    expect(tail.get(first - 1)).toBeUndefined();
    expect(tail.get(20_001)).toBeUndefined();
    for (let seq = first; seq <= 20_000; seq++) {
      const held = tail.get(seq)!;
      expect(held.seq).toBe(seq);
      const kept = Buffer.concat([held.head, held.data ?? Buffer.alloc(0)]);
      expect(kept.equals(Buffer.concat([encoded(seq).head, encoded(seq).data!]))).toBe(true);
    }
    tail.dropThrough(19_990);
    expect(tail.count).toBe(10);
    expect(tail.get(19_991)?.seq).toBe(19_991);
    tail.add(30_000, encoded(30_000), seg, 0); // a gap (never happens): keep only the new one
    expect(tail.count).toBe(1);
    expect(tail.get(30_000)?.seq).toBe(30_000);
  });
});

describe('journal: kill -9', () => {
  it('loses nothing that was appended when the writer is SIGKILLed mid-stream', async () => {
    if (!existsSync(DIST_JOURNAL)) {
      // `npm test` builds first; this only runs when the test is started on its own.
      spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    }
    expect(existsSync(DIST_JOURNAL)).toBe(true);
    const child = path.join(dir, 'writer.mjs');
    await fsp.writeFile(child, childScript(DIST_JOURNAL));
    const jdir = path.join(dir, 'journal');
    const proc = spawn(process.execPath, [child, jdir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let reported = 0;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const line of lines) if (line) reported = Math.max(reported, Number(line));
        if (reported >= 3000 && proc.exitCode === null && !proc.killed) {
          proc.kill('SIGKILL');
        }
      });
      proc.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without being killed`)),
      );
    });

    const j = await Journal.open(jdir, { segmentBytes: 16 * 1024 });
    open.push(j);
    expect(j.lastSeq).toBeGreaterThanOrEqual(reported); // every append the child saw resolve survived
    expect(j.ackedSeq).toBeGreaterThan(0);
    const recs = await readAll(j, j.ackedSeq + 1);
    expect(recs.length).toBe(j.lastSeq - j.ackedSeq);
    recs.forEach((r, i) => {
      expect(r.seq).toBe(j.ackedSeq + 1 + i);
      expectRecord(r, r.seq);
    });
    expect(j.stats()).toEqual({ ops: recs.length, bytes: recs.reduce((s, r) => s + r.size, 0) });
    expect((await j.append({ kind: 'write', meta: {} })).seq).toBe(j.lastSeq);
  });
});

function bytesOf(recs: JournalRecord[], fromSeq: number): number {
  return recs.filter((r) => r.seq >= fromSeq).reduce((s, r) => s + r.size, 0);
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** The child: appends in concurrent bursts, acks now and then, prints each seq it saw resolve. */
function childScript(journalModule: string): string {
  return `
import { Journal } from ${JSON.stringify(journalModule)};
const payload = (n) => Buffer.alloc(n % 97, n % 251);
const j = await Journal.open(process.argv[2], { segmentBytes: 16 * 1024 });
for (let n = 1; ; n += 10) {
  const burst = [];
  for (let k = n; k < n + 10; k++) {
    burst.push(j.append({ kind: 'write', meta: { n: k, path: 'dir/file-' + k }, data: payload(k) }));
  }
  const recs = await Promise.all(burst);
  if (recs[9].seq !== n + 9) throw new Error('seq out of step');
  if (n % 500 === 1 && n > 500) await j.ack(n - 400);
  process.stdout.write(String(n + 9) + '\\n');
}
`;
}
