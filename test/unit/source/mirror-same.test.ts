// A mirror's 'same' entries settled in batches (mirror-same.ts, settleSame): an entry the index
// already records as the scan saw it, with the attribute stamp its ctime proves equal to the
// target's listed one, needs nothing; anything else (not indexed, unsure, an op or a rename since
// the listing, changed since the scan, attributes that differ or are not proven) goes through the
// per-entry step exactly as before batching.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashBlocks } from '../../../src/delta/index.js';
import { PathIndex } from '../../../src/index/index.js';
import type { JournalRecord } from '../../../src/journal/types.js';
import { DiskAttrs } from '../../../src/source/entry-attrs.js';
import { Ledger } from '../../../src/source/ledger.js';
import { recordEqual } from '../../../src/source/mirror-equal.js';
import { SameBatch, settleSame, type SameEntry } from '../../../src/source/mirror-same.js';
import type { ListingView } from '../../../src/source/mirror-steps.js';

let dir: string;
let index: PathIndex;
let ledger: Ledger;
const abs = (rel: string): string => path.join(dir, rel);
const host = () => ({ ledger, abs, failed: (e: Error) => expect.fail(e.message) });
const view = (touched: string[] = [], seq = 1_000): ListingView => ({
  seq,
  touched: (rel) => touched.includes(rel),
});

/** Longer than a file system's ctime tick. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 25));

/** The entry the scan and the target's listing make of `rel` (as it is on disk now). */
function entry(rel: string, listedAttrs?: string): SameEntry {
  const st = statSync(abs(rel));
  const t = {
    path: rel,
    type: st.isDirectory() ? ('dir' as const) : ('file' as const),
    size: st.isDirectory() ? 0 : st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
    attrs: listedAttrs ?? ledger.attrs.stamp(rel) ?? undefined,
  };
  return { rel, st, t };
}

/** A file the index records as on disk, its stamp proven by its ctime (as a checksum mirror leaves it). */
async function indexed(rel: string, content: string): Promise<SameEntry> {
  writeFileSync(abs(rel), content);
  utimesSync(abs(rel), 1_700_000_000, 1_700_000_000);
  const e = entry(rel);
  vi.setSystemTime(Date.now() + 3000); // the ctime is old enough to prove the stamp read
  const c = { rel, st: e.st, t: e.t };
  expect(recordEqual(host(), [[c, await hashBlocks(abs(rel), 16384)]], 0)).toEqual([]);
  expect(ledger.get(rel)?.ctimeNs).not.toBe(0n);
  return e;
}

/** Settles `items`; returns the paths left to the per-entry step. */
async function settle(items: SameEntry[], v = view()): Promise<string[]> {
  const slow: string[] = [];
  const steps = { path: async (rel: string) => void slow.push(rel) };
  await settleSame(host(), steps, v, items, 0);
  return slow;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'smr-same-'));
  index = PathIndex.open(path.join(dir, '.index.sqlite'));
  let seq = 0;
  const append = async (e: object) => ({ ...e, seq: ++seq, size: 0 }) as unknown as JournalRecord;
  ledger = new Ledger(index, append, 0, new DiskAttrs(abs));
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('settleSame', () => {
  it('settles an entry the index holds as scanned and listed with no step, no write, no attribute read', async () => {
    const e = await indexed('kept', 'bytes');
    const record = vi.spyOn(ledger, 'record');
    const reads = vi.spyOn(ledger.attrs, 'stamp');
    expect(await settle([e])).toEqual([]);
    expect(record).not.toHaveBeenCalled();
    expect(reads).not.toHaveBeenCalled();
  });

  it('leaves to the per-entry step what the index lacks, and what an op or a rename since the listing touched', async () => {
    const e = await indexed('kept', 'bytes');
    writeFileSync(abs('added'), 'x');
    expect(await settle([entry('added'), e])).toEqual(['added']);
    expect(await settle([e], view(['kept']))).toEqual(['kept']);
    // An op queued for it after the listing (and recorded: the index row matches the scan).
    await ledger.batched(async () => {
      await ledger.emit({ kind: 'attr', meta: { p: 'kept', mode: e.st.mode & 0o7777 } });
      ledger.record('kept', e.st, 'file', { blocks: 'keep' });
    });
    expect(ledger.lastSeq('kept')).toBe(1);
    expect(await settle([e], view([], 0))).toEqual(['kept']);
  });

  it('leaves an entry whose stat moved since the scan, or whose index record is another', async () => {
    const e = await indexed('kept', 'bytes');
    // The scan saw other content (equal size, other mtime) than the index records.
    const other = { ...e, st: Object.assign(Object.create(e.st), { mtimeMs: e.st.mtimeMs + 5 }) };
    expect(await settle([other])).toEqual(['kept']);
    // Changed on disk after the scan (the content at equal size): the step hints it.
    utimesSync(abs('kept'), 1_700_000_100, 1_700_000_100);
    expect(await settle([e])).toEqual(['kept']);
  });

  it('leaves an entry whose listed attributes differ, or whose stamp the ctime no longer proves', async () => {
    const e = await indexed('kept', 'bytes');
    const owner = `12345:54321${(e.t.attrs ?? '').replace(/^\d+:\d+/, '')}`;
    expect(await settle([{ ...e, t: { ...e.t, attrs: owner } }])).toEqual(['kept']);
    // A chmod to the same mode moves the ctime alone: the stamp must be read again (by the step).
    await tick();
    chmodSync(abs('kept'), e.st.mode & 0o7777);
    expect(await settle([{ ...e, st: statSync(abs('kept')) }])).toEqual(['kept']);
  });

  it('takes a directory the index records alike, and a target that lists no stamps', async () => {
    mkdirSync(abs('d'));
    const d = entry('d');
    ledger.record('d', d.st, 'dir', { blocks: null });
    // Recorded without a proving ctime: an attribute stamp listed must be compared by the step.
    expect(await settle([d])).toEqual(d.t.attrs === undefined ? [] : ['d']);
    expect(await settle([{ ...d, t: { ...d.t, attrs: undefined } }])).toEqual([]);
  });

  it('reads the index rows of a batch in path order; a path asked out of order goes the per-entry way', async () => {
    mkdirSync(abs('d'));
    const files = ['a', 'd/x', 'd/y', 'e', 'f'];
    const items: SameEntry[] = [];
    for (const f of files) items.push(await indexed(f, `content of ${f}`));
    const gets = vi.spyOn(ledger, 'get');
    expect(await settle(items)).toEqual([]);
    expect(gets).toHaveBeenCalledTimes(1); // the first; the rest from one page of the index
    // Paths between them that the index lacks, or an index row the batch skips, change nothing.
    writeFileSync(abs('d/new'), 'n');
    const [a, dx, dy, e, f] = items as [SameEntry, SameEntry, SameEntry, SameEntry, SameEntry];
    expect(await settle([a, entry('d/new'), dy, f])).toEqual(['d/new']);
    expect(await settle([dx, a, e])).toEqual(['a']); // out of path order: not met, left to the step
  });

  it('sparse (the directories of a checksum mirror): each entry looked up alone, no walk of the rows between', async () => {
    mkdirSync(abs('d'));
    mkdirSync(abs('e'));
    for (const f of ['d/1', 'd/2', 'd/3']) await indexed(f, f);
    const d = entry('d', '');
    const e = entry('e', '');
    ledger.record('d', d.st, 'dir', { blocks: null });
    ledger.record('e', e.st, 'dir', { blocks: null });
    const walks = vi.spyOn(index, 'entries');
    const gets = vi.spyOn(ledger, 'get');
    const slow: string[] = [];
    const steps = { path: async (rel: string) => void slow.push(rel) };
    const items = [d, e].map((x) => ({ ...x, t: { ...x.t, attrs: undefined } }));
    await settleSame(host(), steps, view(), items, 0, true);
    expect(slow).toEqual([]);
    expect(walks).not.toHaveBeenCalled();
    expect(gets).toHaveBeenCalledTimes(2);
    // Out of order too: each is found.
    await settleSame(host(), steps, view(), [...items].reverse(), 0, true);
    expect(slow).toEqual([]);
  });

  it('reports a failing entry and settles the rest', async () => {
    const failed: string[] = [];
    const steps = {
      path: async (rel: string) => {
        if (rel === 'a') throw new Error('boom');
        failed.push(`ok ${rel}`);
      },
    };
    writeFileSync(abs('a'), 'a');
    writeFileSync(abs('b'), 'b');
    const h = { ledger, abs, failed: (err: Error) => failed.push(err.message) };
    await settleSame(h, steps, view(), [entry('a'), entry('b')], 0);
    expect(failed).toEqual(['boom', 'ok b']);
  });
});

describe('SameBatch', () => {
  it('sends full batches and the rest on flush, in scan order', async () => {
    const sent: string[][] = [];
    const b = new SameBatch((items) => sent.push(items.map((i) => i.rel)));
    writeFileSync(abs('f'), 'f');
    const e = entry('f');
    for (let i = 0; i < 513; i++) b.add(`p${i}`, e.st, e.t);
    expect(sent.map((s) => s.length)).toEqual([512]);
    b.flush();
    b.flush();
    expect(sent.map((s) => s.length)).toEqual([512, 1]);
    expect(sent[1]).toEqual(['p512']);
  });

  it('holds instances, not object literals (V8 tenures a literal site a batch outlives)', () => {
    const sent: SameEntry[][] = [];
    const b = new SameBatch((items) => sent.push(items));
    writeFileSync(abs('f'), 'f');
    const e = entry('f');
    b.add('f', e.st, e.t);
    b.flush();
    const held = sent[0]?.[0] as SameEntry;
    expect(Object.getPrototypeOf(held)).not.toBe(Object.prototype);
    expect([held.rel, held.st, held.t]).toEqual(['f', e.st, e.t]);
  });
});
