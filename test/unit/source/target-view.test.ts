// TargetView: a listing of the target kept true while renames and deletes keep being queued, so
// orphans are deleted under the names they have on the target by then.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import type { JournalEntry } from '../../../src/journal/types.js';
import type { ListEntry } from '../../../src/protocol/listing.js';
import type { Capture } from '../../../src/source/capture.js';
import { makeFilter } from '../../../src/source/filter.js';
import { TargetView } from '../../../src/source/target-view.js';
import { listAppend, testCapture } from './capture-fixture.js';

// An op in a directory has capture look at that directory again (its new mtime, issue 12), and
// so hash the files it finds there.
beforeAll(() => initHash());

function setup(): { base: string; capture: Capture; queued: JournalEntry[] } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-view-'));
  const queued: JournalEntry[] = [];
  const capture = testCapture(base, listAppend(queued));
  return { base, capture, queued };
}

const f = (p: string): ListEntry => ({ path: p, type: 'file', size: 1, mtimeMs: 0, mode: 0o644 });
const d = (p: string): ListEntry => ({ path: p, type: 'dir', size: 0, mtimeMs: 0, mode: 0o755 });

describe('TargetView', () => {
  it('deletes an orphan under the name a later rename gave it, and nothing the source has', async () => {
    const { base, capture, queued } = setup();
    mkdirSync(path.join(base, 'new'));
    writeFileSync(path.join(base, 'new', 'kept'), 'x');
    const view = new TargetView(capture);
    view.add([d('old'), f('old/kept'), f('old/gone')]);
    view.listed(0);
    view.entries.delete('old'); // the scan saw the directory, not its children
    await capture.appendInLine({ kind: 'rename', meta: { from: 'old', to: 'new' } });
    expect([...view.entries.keys()].sort()).toEqual(['new/gone', 'new/kept']);
    expect(await view.deleteOrphans(makeFilter([], []), () => true)).toBe(1);
    expect(queued.at(-1)).toEqual({ kind: 'delete', meta: { p: 'new/gone' } });
    view.close();
  });

  it('applies only operations queued after the seq the listing describes', async () => {
    const { capture } = setup();
    const view = new TargetView(capture);
    await capture.appendInLine({ kind: 'rename', meta: { from: 'a', to: 'b' } }); // seq 1: listed
    await capture.appendInLine({ kind: 'delete', meta: { p: 'c' } }); // seq 2: not yet
    view.add([f('b'), f('c'), d('e'), f('e/x'), f('e/y')]);
    view.listed(1);
    expect([...view.entries.keys()].sort()).toEqual(['b', 'e', 'e/x', 'e/y']);
    await capture.appendInLine({ kind: 'rmdir', meta: { p: 'e' } });
    await capture.appendInLine({ kind: 'rename', meta: { from: 'b', to: 'z' } });
    expect([...view.entries.keys()]).toEqual(['z']);
    view.close();
    // Closed: it no longer follows (its listing is gone; applying the op to it would throw).
    await expect(capture.appendInLine({ kind: 'delete', meta: { p: 'z' } })).resolves.toBeDefined();
    expect(() => view.entries.get('z')).toThrow();
  });

  it('a rename replaces what was listed at its destination, subtree and all', async () => {
    const { capture } = setup();
    const view = new TargetView(capture);
    view.add([d('a'), f('a/1'), d('b'), f('b/2'), d('b/c'), f('b/c/3')]);
    view.listed(0);
    await capture.appendInLine({ kind: 'rename', meta: { from: 'a', to: 'b' } });
    expect([...view.entries.keys()].sort()).toEqual(['b', 'b/1']);
    view.close();
  });

  it('deletes a vanished directory once, not each entry below it', async () => {
    const { capture, queued } = setup();
    const view = new TargetView(capture);
    view.add([d('x'), f('x/1'), d('x/y'), f('x/y/2'), f('z')]);
    view.listed(0);
    expect(await view.deleteOrphans(makeFilter([], []), () => true)).toBe(2);
    expect(queued.map((e) => e.meta.p)).toEqual(['x', 'z']);
    view.close();
  });

  it('says which paths ops queued after the listing moved, removed or replaced', async () => {
    const { capture } = setup();
    await capture.appendInLine({ kind: 'delete', meta: { p: 'before' } }); // seq 1: listed
    const view = new TargetView(capture);
    view.add([d('a'), f('a/x'), d('b'), f('b/y'), d('c'), f('c/z'), f('before'), f('kept')]);
    view.listed(1);
    await capture.appendInLine({ kind: 'rename', meta: { from: 'a', to: 'n' } });
    await capture.appendInLine({ kind: 'rmdir', meta: { p: 'b' } });
    // A file put where a directory stood takes the directory's entries with it.
    await capture.appendInLine({ kind: 'put', meta: { p: 'c', first: true, end: true, size: 0 } });
    const touched = ['a/x', 'n', 'b/y', 'c/z', 'before', 'kept'].filter((p) => view.touched(p));
    expect(touched).toEqual(['a/x', 'n', 'b/y', 'c/z']);
    expect(view.seq).toBe(1);
    view.close();
  });
  it('follows no ops once an empty listing completed (nothing listed can move), else marks them', async () => {
    const { capture } = setup();
    const put = { kind: 'put', meta: { p: 'a', first: true, end: true, size: 0 } } as const;
    const empty = new TargetView(capture);
    empty.listed(0);
    await capture.appendInLine(put);
    expect(empty.touched('a')).toBe(false); // no write to the listing's table per op sent
    empty.close();
    const listed = new TargetView(capture);
    listed.add([f('b')]);
    listed.listed(1);
    await capture.appendInLine(put);
    expect(listed.touched('a')).toBe(true);
    listed.close();
  });
});
