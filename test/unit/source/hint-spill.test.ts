// The work queue at its limit of paths: hints beyond it wait as marks in a real index (the
// spill) and come back, none lost, coalesced; steps queued behind spilled hints run after them
// even while new hints keep coming; marks a stopped queue left are taken back by the next one.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathIndex } from '../../../src/index/index.js';
import { HintSpill } from '../../../src/source/hint-spill.js';
import { RenameWindow } from '../../../src/source/rename-window.js';
import { WorkQueue } from '../../../src/source/work-queue.js';

const LIMIT = 16;

function openIndex(file?: string): PathIndex {
  return PathIndex.open(file ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'smr-spill-')), 'i'));
}

function setup(index = openIndex()) {
  const checked: string[] = [];
  const forced = new Set<string>();
  let inMemoryMax = 0;
  const spill = new HintSpill(index);
  const q: WorkQueue = new WorkQueue(
    {
      check: async (rel, force) => {
        // The item being checked left the queue: what is still held in memory is the rest.
        inMemoryMax = Math.max(inMemoryMax, q.backlog - spill.size);
        checked.push(rel);
        if (force) forced.add(rel);
        await new Promise((r) => setImmediate(r));
      },
      settle: async () => undefined,
      failed: (err) => {
        throw err;
      },
    },
    new RenameWindow(),
    spill,
    LIMIT,
  );
  return { q, spill, index, checked, forced, inMemoryMax: () => inMemoryMax };
}

const names = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => `d/${prefix}${i}`);

describe('the work queue at its limit (HintSpill)', () => {
  it('holds at most its limit of paths in memory through a burst, and checks every path once', async () => {
    const { q, spill, checked, inMemoryMax } = setup();
    const all = names(2000);
    for (const rel of all) q.hint(rel);
    // All of them counted, though most wait on disk.
    expect(q.backlog + checked.length).toBe(2000);
    expect(q.backlog - spill.size).toBeLessThanOrEqual(LIMIT);
    for (const rel of all) q.hint(rel); // again: coalesced with the first hint, in memory or spilled
    await q.idle();
    expect(inMemoryMax()).toBeLessThanOrEqual(LIMIT);
    expect([...checked].sort()).toEqual([...all].sort());
    expect(spill.size).toBe(0);
    expect(q.backlog).toBe(0);
  });

  it('keeps `force` through the spill', async () => {
    const { q, checked, forced } = setup();
    const all = names(100);
    for (const rel of all) q.hint(rel);
    q.hint('d/f77', true);
    await q.idle();
    expect(checked).toHaveLength(100);
    expect([...forced]).toEqual(['d/f77']);
  });

  it('runs a step after every hint spilled before it, though new hints keep coming', async () => {
    const { q, checked } = setup();
    const before = names(300, 'a');
    for (const rel of before) q.hint(rel);
    let stepAt = -1;
    const step = q.enqueueStep(async () => void (stepAt = checked.length));
    // A writer that does not stop while the step waits: a hint after each check.
    let n = 0;
    const feed = setInterval(() => {
      for (let i = 0; i < 20; i++) q.hint(`d/b${n++}`);
    }, 1);
    await step;
    clearInterval(feed);
    const ran = checked.slice(0, stepAt);
    for (const rel of before) expect(ran).toContain(rel);
    await q.idle();
    expect(new Set(checked).size).toBe(300 + n);
  });

  it('a step queued behind spilled hints keeps its order with later steps', async () => {
    const { q, checked } = setup();
    const order: string[] = [];
    for (const rel of names(100)) q.hint(rel);
    const one = q.enqueueStep(async () => void order.push(`one after ${checked.length}`));
    for (const rel of names(100, 'g')) q.hint(rel);
    const two = q.enqueueStep(async () => void order.push(`two after ${checked.length}`));
    await Promise.all([one, two]);
    expect(order).toEqual(['one after 100', 'two after 200']);
  });

  it('an index it cannot write is reported as a failed check, not thrown into the watcher', async () => {
    const index = openIndex();
    const failures: Error[] = [];
    const q = new WorkQueue(
      {
        check: () => new Promise(() => undefined), // capture stuck: nothing leaves the queue
        settle: async () => undefined,
        failed: (err) => failures.push(err),
      },
      new RenameWindow(),
      new HintSpill(index),
      LIMIT,
    );
    index.close(); // as a full or lost disk would make it
    expect(() => {
      for (const rel of names(LIMIT + 300)) q.hint(rel);
    }).not.toThrow();
    expect(failures.length).toBeGreaterThan(0);
    q.stop();
  });

  it('marks a stopped queue left in the index are taken back by the next one', async () => {
    const index = openIndex();
    const first = setup(index);
    const all = names(500);
    for (const rel of all) first.q.hint(rel);
    first.q.stop(); // nothing checked: the spilled hints are flushed to the index
    expect(first.checked).toEqual([]);
    const next = setup(index); // a restart: same index, new queue
    expect(next.spill.size).toBe(500 - LIMIT);
    await next.q.idle();
    expect([...next.checked].sort()).toEqual(all.slice(LIMIT).sort());
  });
});
