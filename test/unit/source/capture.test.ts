// Capture without a watcher: what it finds by itself when file system events are missing.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import type { JournalEntry } from '../../../src/journal/types.js';
import { RELIST_AFTER_MS, RENAME_WINDOW_MS, type Capture } from '../../../src/source/capture.js';
import { listAppend, testCapture } from './capture-fixture.js';

function setup(): { base: string; capture: Capture; queued: JournalEntry[] } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-capture-'));
  const queued: JournalEntry[] = [];
  const capture = testCapture(base, listAppend(queued));
  capture.ledger.setBaseline(true); // every path unknown to the index is new
  return { base, capture, queued };
}

beforeAll(() => initHash()); // the daemon loads the block hash before it captures anything

describe('Capture', () => {
  it('lists a new directory again, finding a file created after its first listing with no event', async () => {
    const { base, capture, queued } = setup();
    mkdirSync(path.join(base, 'd'));
    capture.hint('d');
    await vi.waitFor(() => expect(queued.map((e) => e.kind)).toEqual(['mkdir']));
    await capture.idle();
    // Created after capture listed `d`, before a watch on it would exist: no hint at all.
    writeFileSync(path.join(base, 'd', 'late.txt'), 'late');
    await vi.waitFor(
      () =>
        expect(queued.map((e) => [e.kind, e.meta.p])).toEqual([
          ['mkdir', 'd'],
          ['put', 'd/late.txt'],
          ['attr', 'd'], // the directory's new mtime (issue 12)
        ]),
      { timeout: (RELIST_AFTER_MS.at(-1) ?? 0) + 2000 },
    );
    capture.stop();
  });

  it('does not list again a directory unchanged since before the watcher started', async () => {
    const { base, capture, queued } = setup();
    mkdirSync(path.join(base, 'old'));
    capture.watchingSince = Date.now() + 60_000; // as if watching began well after `old` last changed
    capture.hint('old');
    await vi.waitFor(() => expect(queued.map((e) => e.kind)).toEqual(['mkdir']));
    await capture.idle();
    writeFileSync(path.join(base, 'old', 'unseen.txt'), 'x'); // (a watcher would report this one)
    await new Promise((r) => setTimeout(r, (RELIST_AFTER_MS[1] ?? 0) + 200));
    expect(queued).toHaveLength(1);
    capture.stop();
  });

  it('rescan finds what no hint named: new, changed and vanished paths', async () => {
    const { base, capture, queued } = setup();
    writeFileSync(path.join(base, 'a'), 'one');
    writeFileSync(path.join(base, 'b'), 'two');
    capture.hint('a');
    capture.hint('b');
    await vi.waitFor(() => expect(queued).toHaveLength(2));
    await capture.idle();
    writeFileSync(path.join(base, 'a'), 'one, longer');
    writeFileSync(path.join(base, 'c'), 'three');
    await import('node:fs/promises').then((f) => f.rm(path.join(base, 'b')));
    await capture.rescan();
    await capture.flushGone();
    await capture.idle();
    expect(
      queued
        .slice(2)
        .map((e) => [e.kind, e.meta.p])
        .sort(),
    ).toEqual([
      ['delete', 'b'],
      ['put', 'c'],
      ['write', 'a'],
    ]);
    capture.stop();
  });

  /** A tree `d` with two files, captured; returns what was queued after that. */
  async function capturedTree(): Promise<ReturnType<typeof setup> & { after: () => unknown[] }> {
    const t = setup();
    mkdirSync(path.join(t.base, 'd'));
    writeFileSync(path.join(t.base, 'd', 'x'), 'x');
    writeFileSync(path.join(t.base, 'd', 'y'), 'y');
    t.capture.hint('d');
    await vi.waitFor(() => expect(t.queued).toHaveLength(3));
    await t.capture.idle();
    const n = t.queued.length;
    return { ...t, after: () => t.queued.slice(n).map((e) => [e.kind, e.meta.p ?? e.meta.from]) };
  }

  it('a renamed directory whose children are reported gone first is one rename', async () => {
    const { base, capture, after } = await capturedTree();
    renameSync(path.join(base, 'd'), path.join(base, 'e'));
    capture.hint('d/x');
    capture.hint('d/y');
    // The new name's event comes in after the children's rename window has passed.
    await new Promise((r) => setTimeout(r, RENAME_WINDOW_MS + 30));
    capture.hint('e');
    await new Promise((r) => setTimeout(r, 5 * RENAME_WINDOW_MS));
    await capture.idle();
    expect(after()).toEqual([['rename', 'd']]);
    capture.stop();
  });

  it('a busy pipeline does not turn a rename into a delete: ready checks go before due deletes', async () => {
    const { base, capture, after } = await capturedTree();
    renameSync(path.join(base, 'd'), path.join(base, 'e'));
    capture.hint('d');
    // A slow check ahead of the new name's (a big file being read) outlasts the rename window.
    void capture.enqueueStep(() => new Promise((r) => setTimeout(r, RENAME_WINDOW_MS * 2)));
    capture.hint('e');
    await new Promise((r) => setTimeout(r, 5 * RENAME_WINDOW_MS));
    await capture.idle();
    expect(after()).toEqual([['rename', 'd']]);
    capture.stop();
  });

  it('a file hinted before its directories: they are queued first, and their rename follows them', async () => {
    const { base, capture, queued } = setup();
    mkdirSync(path.join(base, 'd', 'e'), { recursive: true });
    writeFileSync(path.join(base, 'd', 'e', 'f.txt'), 'f');
    capture.hint('d/e/f.txt'); // as after a restart: the file's event before its directories'
    await vi.waitFor(() => expect(queued.some((e) => e.kind === 'put')).toBe(true));
    await capture.idle();
    expect(queued.map((e) => [e.kind, e.meta.p])).toEqual([
      ['mkdir', 'd'],
      ['mkdir', 'd/e'],
      ['put', 'd/e/f.txt'],
    ]);
    renameSync(path.join(base, 'd'), path.join(base, 'g'));
    capture.hint('d');
    capture.hint('g');
    await new Promise((r) => setTimeout(r, 5 * RENAME_WINDOW_MS));
    await capture.idle();
    expect(
      queued.slice(3).map((e) => [e.kind, e.meta.p ?? `${e.meta.from}->${e.meta.to}`]),
    ).toEqual([['rename', 'd->g']]);
    capture.stop();
  });

  it('flushGone settles a vanished directory first seen missing through its children', async () => {
    const { base, capture, after } = await capturedTree();
    rmSync(path.join(base, 'd'), { recursive: true });
    capture.hint('d/x');
    await vi.waitFor(() => expect(capture.backlog).toBe(0));
    await capture.flushGone(); // a barrier: every disappearance so far must be queued after it
    expect(after()).toEqual([['rmdir', 'd']]);
    capture.stop();
  });
});
