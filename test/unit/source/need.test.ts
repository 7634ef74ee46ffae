// A NEED names a path as op `seq` saw it; renames and deletes queued after it decide where that
// is now — from memory for this process's ops, from the journal for older ones.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/journal/index.js';
import { PathHistory } from '../../../src/source/need.js';
import type { QueuedOp } from '../../../src/source/queued-op.js';

let dir: string;
let journal: Journal;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-need-'));
  journal = await Journal.open(path.join(dir, 'journal'));
});
afterEach(async () => {
  await journal.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const ops: QueuedOp[] = [
  { kind: 'put', meta: { p: 'd/f', first: true, end: true, size: 0 } }, // 1
  { kind: 'rename', meta: { from: 'd', to: 'e' } }, // 2
  { kind: 'rename', meta: { from: 'e/f', to: 'g' } }, // 3
  { kind: 'delete', meta: { p: 'h' } }, // 4
  { kind: 'rename', meta: { from: 'x', to: 'e' } }, // 5: replaces e
];

describe('PathHistory', () => {
  it('follows a path through the renames after its seq; deletes and replacements end it', async () => {
    const h = new PathHistory(journal);
    for (const e of ops) h.observe(e, (await journal.append(e)).seq);
    expect(await h.mapThrough('d/f', 1)).toBe('g');
    expect(await h.mapThrough('d/other', 1)).toBeNull(); // moved to e/other, then replaced
    expect(await h.mapThrough('d/f', 3)).toBe('d/f'); // nothing after 3 touches it
    expect(await h.mapThrough('h/in', 3)).toBeNull();
    expect(await h.mapThrough('e', 5)).toBe('e');
  });

  it('reads ops queued before this process from the journal, and forgets acknowledged ones', async () => {
    for (const e of ops.slice(0, 3)) await journal.append(e); // a previous process's
    const h = new PathHistory(journal);
    for (const e of ops.slice(3)) h.observe(e, (await journal.append(e)).seq);
    expect(await h.mapThrough('d/f', 1)).toBe('g');
    await journal.ack(4);
    h.trim();
    expect(await h.mapThrough('e/other', 4)).toBeNull(); // 5 is still known
  });
});
