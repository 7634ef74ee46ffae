// A mirror's small files in bulk: many files per `files` record, in scan order, with anything a
// batch cannot carry (a hard link, a file gone since the scan) sent the ordinary way at its place
// in the order, and every file sent recorded in the index with its block hashes.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import type { JournalEntry } from '../../../src/journal/types.js';
import type { WireAttrs } from '../../../src/protocol/attrs.js';
import { ScanBatch, sendSmallFiles, type SmallFileItem } from '../../../src/source/small-files.js';
import { listAppend, testCapture } from './capture-fixture.js';

beforeAll(() => initHash());

/** What was queued for paths below `d/`, as [kind, paths]. */
function under(queued: JournalEntry[]): Array<[string, string[]]> {
  return queued
    .map((e): [string, string[]] => {
      const f = (e.meta as { f?: Array<[string]> }).f;
      return [e.kind, f ? f.map((x) => x[0]) : [String(e.meta.p)]];
    })
    .filter(([, ps]) => ps.some((p) => p.startsWith('d/')));
}

/** A capture over a new directory, its mirror done once (the index's baseline), and its queue. */
function mirrored() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-small-'));
  const queued: JournalEntry[] = [];
  const capture = testCapture(base, listAppend(queued));
  capture.ledger.setBaseline(true);
  return { base, queued, capture };
}

describe('sendSmallFiles', () => {
  it('queues plain files many per record, the others alone, all in scan order', async () => {
    const { base, queued, capture } = mirrored();
    mkdirSync(path.join(base, 'd'));
    await capture.enqueueStep(() => capture.resend('d'));
    for (const n of ['a', 'b', 'c', 'gone', 'e'])
      writeFileSync(path.join(base, 'd', n), n.repeat(3));
    linkSync(path.join(base, 'd', 'c'), path.join(base, 'c-partner')); // c has two names
    const items: SmallFileItem[] = ['a', 'b', 'c', 'gone', 'e'].map((n) => ({
      rel: `d/${n}`,
      st: lstatSync(path.join(base, 'd', n)),
    }));
    rmSync(path.join(base, 'd', 'gone')); // gone between the scan and the step
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0));
    expect(under(queued)).toEqual([
      ['files', ['d/a', 'd/b']],
      ['put', ['d/c']],
      ['delete', ['d/gone']],
      ['files', ['d/e']],
    ]);
    const first = queued.find((e) => e.kind === 'files') as JournalEntry;
    expect(first.data?.toString()).toBe('aaabbb');
    const tuples = first.meta.f as Array<[string, number, number, number, { ns?: string }]>;
    expect(tuples.map((t) => t.slice(0, 2))).toEqual([
      ['d/a', 3],
      ['d/b', 3],
    ]);
    expect(tuples[0]?.[4]?.ns).toMatch(/^\d+$/); // attributes carried per file
    for (const n of ['a', 'b', 'e']) {
      expect(capture.ledger.get(`d/${n}`)?.size).toBe(3);
      expect(capture.ledger.blocks(`d/${n}`)?.hashes.length).toBe(1);
      expect(capture.ledger.unsureAt(`d/${n}`)).toBe(false);
    }
    expect(capture.ledger.get('d/gone')).toBeUndefined();
    capture.stop();
  });

  it("takes a batched file's attributes from its read (the stamp the index keeps is the disk's)", async () => {
    const { base, queued, capture } = mirrored();
    mkdirSync(path.join(base, 'd'));
    await capture.enqueueStep(() => capture.resend('d'));
    for (const n of ['a', 'x', 'b']) writeFileSync(path.join(base, 'd', n), n);
    chownSync(path.join(base, 'd', 'b'), 4321, 4322);
    execFileSync('setfattr', ['-n', 'user.k', '-v', 'v', path.join(base, 'd', 'x')]);
    const items = ['d/a', 'd/x', 'd/b'].map((rel) => ({
      rel,
      st: lstatSync(path.join(base, rel)),
    }));
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0));
    // The file with an xattr goes the ordinary way, with it; the others in the batch.
    expect(under(queued)).toEqual([
      ['files', ['d/a']],
      ['put', ['d/x']],
      ['files', ['d/b']],
    ]);
    const put = queued.find((e) => e.kind === 'put');
    expect((put?.meta.a as { x?: unknown[] }).x).toHaveLength(1);
    const last = queued.filter((e) => e.kind === 'files').at(-1) as JournalEntry;
    const [, , , , a] = (last.meta.f as Array<[string, number, number, number, WireAttrs]>)[0]!;
    const st = lstatSync(path.join(base, 'd', 'b'), { bigint: true });
    expect([a.uid, a.gid, a.ns, a.x, a.acl]).toEqual([4321, 4322, String(st.mtimeNs), [], {}]);
    for (const n of ['a', 'x', 'b']) {
      const k = capture.ledger.get(`d/${n}`);
      expect(k?.stamp).toBe(capture.ledger.attrs.stamp(`d/${n}`));
    }
    capture.stop();
  });

  it('sends a file whose parent the index lacks the ordinary way (its parent first)', async () => {
    const { base, queued, capture } = mirrored();
    mkdirSync(path.join(base, 'd'));
    writeFileSync(path.join(base, 'd', 'x'), 'x');
    const items = [{ rel: 'd/x', st: lstatSync(path.join(base, 'd', 'x')) }];
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0));
    expect(queued.slice(0, 2).map((e) => [e.kind, e.meta.p])).toEqual([
      ['mkdir', 'd'],
      ['put', 'd/x'],
    ]);
    capture.stop();
  });

  it('looks items up only where the index holds entries, and skips one sent in this mirror', async () => {
    const { base, queued, capture } = mirrored();
    mkdirSync(path.join(base, 'd'));
    await capture.enqueueStep(() => capture.resend('d'));
    for (const n of ['a', 'b', 'c']) writeFileSync(path.join(base, 'd', n), n);
    const since = capture.ledger.lastQueued;
    await capture.enqueueStep(() => capture.resend('d/b')); // sent already by this mirror
    const items = ['a', 'b', 'c'].map((n) => ({
      rel: `d/${n}`,
      st: lstatSync(path.join(base, 'd', n)),
    }));
    const get = vi.spyOn(capture.ledger, 'get');
    const looked = () => get.mock.calls.map(([rel]) => rel).filter((r) => r.startsWith('d/'));
    await capture.enqueueStep(() => sendSmallFiles(capture, items, since));
    expect(under(queued).slice(-1)).toEqual([['files', ['d/a', 'd/c']]]);
    expect(looked()).toEqual(['d/a', 'd/b', 'd/c']); // (and their directory, as a parent)
    // Nothing from the first item to the last in the index: no look-up per item.
    for (const n of ['e', 'f']) writeFileSync(path.join(base, 'd', n), n);
    const more = ['e', 'f'].map((n) => ({ rel: `d/${n}`, st: lstatSync(path.join(base, 'd', n)) }));
    get.mockClear();
    await capture.enqueueStep(() => sendSmallFiles(capture, more, since));
    expect(under(queued).slice(-1)).toEqual([['files', ['d/e', 'd/f']]]);
    expect(looked()).toEqual([]);
    capture.stop();
  });

  it('sends a new directory of the batch through `alone`, before its files', async () => {
    const { base, queued, capture } = mirrored();
    mkdirSync(path.join(base, 'd'));
    for (const n of ['a', 'b']) writeFileSync(path.join(base, 'd', n), n);
    const items = ['d', 'd/a', 'd/b'].map((rel) => ({ rel, st: lstatSync(path.join(base, rel)) }));
    const alone: string[] = [];
    const send = (rel: string) => (alone.push(rel), capture.resend(rel, { scanned: true }));
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0, undefined, send));
    expect(alone).toEqual(['d']);
    expect(under(queued)).toEqual([['files', ['d/a', 'd/b']]]);
    expect(queued.find((e) => e.kind === 'mkdir')?.meta.p).toBe('d');
    expect(capture.ledger.get('d')?.type).toBe('dir');
    expect(capture.ledger.unsureAt('d')).toBe(false);
    capture.stop();
  });
});

describe('sendSmallFiles, new directories older than the watch', () => {
  it('queues their mkdirs in the step and records them with the batch, not through `alone`', async () => {
    const { base, queued, capture } = mirrored();
    capture.watchingSince = Date.now() + 120_000; // every directory is older than the watch
    mkdirSync(path.join(base, 'd', 'e'), { recursive: true, mode: 0o750 });
    for (const n of ['d/a', 'd/e/b']) writeFileSync(path.join(base, n), n);
    const rels = ['d', 'd/a', 'd/e', 'd/e/b'];
    const items = rels.map((rel) => ({ rel, st: lstatSync(path.join(base, rel)) }));
    const alone: string[] = [];
    const send = (rel: string) => (alone.push(rel), capture.resend(rel, { scanned: true }));
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0, undefined, send));
    expect(alone).toEqual([]);
    const tree = queued.filter((e) => e.meta.p === 'd' || e.kind === 'files' || e.kind === 'mkdir');
    expect(
      tree.map((e) => (e.kind === 'files' ? 'files' : `${e.kind} ${String(e.meta.p)}`)),
    ).toEqual(['mkdir d', 'mkdir d/e', 'files']);
    expect(under(queued)).toEqual([
      ['mkdir', ['d/e']],
      ['files', ['d/a', 'd/e/b']],
    ]);
    const mk = queued.find((e) => e.kind === 'mkdir');
    expect([mk?.meta.mode, typeof (mk?.meta.a as { ns?: string })?.ns]).toEqual([0o750, 'string']);
    for (const rel of rels) {
      const k = capture.ledger.get(rel);
      expect([rel, k?.type, capture.ledger.unsureAt(rel)]).toEqual([
        rel,
        rel.endsWith('a') || rel.endsWith('b') ? 'file' : 'dir',
        false,
      ]);
      expect(k?.stamp).toBe(capture.ledger.attrs.stamp(rel));
    }
    capture.stop();
  });

  it('queues their crash marks with the files: the index transactions do not grow with them', async () => {
    // Each directory's mkdir marked its path in a commit of its own and cut the decide loop's
    // read transaction short: two transactions per directory, 10,000 in a 100k-file tree.
    const transactions = async (dirs: number): Promise<number> => {
      const { base, capture } = mirrored();
      capture.watchingSince = Date.now() + 120_000;
      const rels: string[] = [];
      for (let i = 0; i < dirs; i++) {
        mkdirSync(path.join(base, `d${i}`));
        writeFileSync(path.join(base, `d${i}`, 'f'), 'f');
        rels.push(`d${i}`, `d${i}/f`);
      }
      const items = rels.map((rel) => ({ rel, st: lstatSync(path.join(base, rel)) }));
      const spy = vi.spyOn(capture.ledger.index, 'transaction');
      const send = (rel: string) => capture.resend(rel, { scanned: true });
      await capture.enqueueStep(() => sendSmallFiles(capture, items, 0, undefined, send));
      const n = spy.mock.calls.length;
      for (const rel of rels) expect([rel, capture.ledger.unsureAt(rel)]).toEqual([rel, false]);
      expect(capture.ledger.get(`d${dirs - 1}/f`)?.type).toBe('file');
      capture.stop();
      return n;
    };
    expect(await transactions(6)).toBe(await transactions(2));
  });

  it('leaves their times alone after the files: no check of the directory per batch', async () => {
    // The files were there when the directory's time was read for its mkdir; a check of each
    // directory after its files (as after a live put) was 8% of a 100k-file mirror's source.
    const { base, capture } = mirrored();
    capture.watchingSince = Date.now() + 120_000;
    mkdirSync(path.join(base, 'd', 'e'), { recursive: true });
    for (const n of ['d/a', 'd/e/b']) writeFileSync(path.join(base, n), n);
    const rels = ['d', 'd/a', 'd/e', 'd/e/b'];
    const items = rels.map((rel) => ({ rel, st: lstatSync(path.join(base, rel)) }));
    const queue = (capture as unknown as { queue: { hint: (rel: string) => void } }).queue;
    const hint = vi.spyOn(queue, 'hint');
    const send = (rel: string) => capture.resend(rel, { scanned: true });
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0, undefined, send));
    expect(hint.mock.calls.map(([rel]) => rel)).not.toContain('d/e');
    capture.stop();
  });

  it('sends one the index already holds through `alone` (its check decides)', async () => {
    const { base, queued, capture } = mirrored();
    capture.watchingSince = Date.now() + 120_000;
    mkdirSync(path.join(base, 'd'));
    await capture.enqueueStep(() => capture.resend('d'));
    const before = queued.length;
    const items = [{ rel: 'd', st: lstatSync(path.join(base, 'd')) }];
    const alone: string[] = [];
    const send = (rel: string) => (alone.push(rel), capture.resend(rel, { scanned: true }));
    await capture.enqueueStep(() => sendSmallFiles(capture, items, 0, undefined, send));
    expect(alone).toEqual(['d']);
    expect(queued.length).toBeGreaterThan(before);
    capture.stop();
  });
});

describe('ScanBatch', () => {
  it('keeps order, takes only small files, and hands over a full batch at once', () => {
    const sent: string[][] = [];
    const b = new ScanBatch((items) => sent.push(items.map((i) => i.rel)));
    const base = mkdtempSync(path.join(os.tmpdir(), 'smr-small-'));
    writeFileSync(path.join(base, 'small'), 'x');
    writeFileSync(path.join(base, 'big'), Buffer.alloc(65 * 1024));
    const small = lstatSync(path.join(base, 'small'));
    expect(b.add('big', lstatSync(path.join(base, 'big')), true)).toBe(false);
    expect(b.add('dir', lstatSync(base), true)).toBe(true); // a new directory rides along
    for (let i = 0; i < 513; i++) expect(b.add(`f${i}`, small, true)).toBe(true);
    expect(sent.map((s) => s.length)).toEqual([512]);
    b.flush();
    expect(sent.map((s) => s.length)).toEqual([512, 2]);
    expect(sent[0]?.slice(0, 2)).toEqual(['dir', 'f0']);
    expect(sent[1]).toEqual(['f511', 'f512']);
  });
});
