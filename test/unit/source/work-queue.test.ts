// The capture pipeline's work queue with a recording worker: strict order, coalescing hints,
// steps in line, deletes settled only when no check is ready (or when overdue), idle and stop.
import { describe, expect, it } from 'vitest';
import { RENAME_WINDOW_MS, RenameWindow } from '../../../src/source/rename-window.js';
import { MAX_DELAY_MS, WorkQueue } from '../../../src/source/work-queue.js';

function setup(slowCheckMs = 0, clockOffsetMs = 0) {
  const done: string[] = [];
  const gone = new RenameWindow(() => Date.now() + clockOffsetMs);
  const failures: Error[] = [];
  const q = new WorkQueue(
    {
      check: async (rel, force) => {
        if (slowCheckMs) await new Promise((r) => setTimeout(r, slowCheckMs));
        done.push(force ? `check ${rel} (force)` : `check ${rel}`);
        if (rel === 'boom') throw new Error('boom');
      },
      settle: async (rel) => {
        gone.close(rel);
        done.push(`settle ${rel}`);
      },
      failed: (err) => failures.push(err),
    },
    gone,
  );
  return { q, done, gone, failures };
}

describe('WorkQueue', () => {
  it('checks paths in the order first hinted; a hint again coalesces and keeps its place', async () => {
    // A step at the head holds the queue, so a cannot come due (2 ms quiet) between the hints on
    // a slow machine: it did in CI, and a was then checked once before b and once after.
    const { q, done } = setup();
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    void q.enqueueStep(() => gate);
    q.hint('a');
    q.hint('b');
    q.hint('a', true);
    q.hint('c');
    release();
    await q.idle();
    expect(done).toEqual(['check a (force)', 'check b', 'check c']);
  });

  it('runs a step after everything queued before it, and passes its outcome on', async () => {
    const { q, done } = setup();
    q.hint('a');
    const step = q.enqueueStep(async () => void done.push('step'));
    q.hint('b');
    const failing = q.enqueueStep(async () => {
      throw new Error('step failed');
    });
    await step;
    await expect(failing).rejects.toThrow('step failed');
    await q.idle();
    expect(done).toEqual(['check a', 'step', 'check b']);
  });

  it('a failed check is reported and the queue goes on', async () => {
    const { q, done, failures } = setup();
    q.hint('boom');
    q.hint('after');
    await q.idle();
    expect(done).toEqual(['check boom', 'check after']);
    expect(failures.map((e) => e.message)).toEqual(['boom']);
  });

  it('a due disappearance waits for checks that are ready (one may be its new name)', async () => {
    // While a's slow check runs, x becomes ready and old's window ends (10 ms ago when opened):
    // at the next turn x is ready, so it goes first. (Waiting on timers alone raced: x could
    // still be inside its quiet time when the loop looked.)
    const { q, done, gone } = setup(30, -RENAME_WINDOW_MS - 10);
    q.hint('a');
    q.hint('x');
    await new Promise((r) => setTimeout(r, 10));
    gone.open('old');
    await q.idle();
    expect(done).toEqual(['check a', 'check x', 'settle old']);
  });

  it('but not past MAX_DELAY_MS: a steady stream of checks cannot hold a delete back', async () => {
    const { q, done, gone } = setup(MAX_DELAY_MS + 100);
    gone.open('old');
    q.hint('x');
    q.hint('y');
    await new Promise((r) => setTimeout(r, 50));
    await q.idle();
    expect(done).toEqual(['check x', 'settle old', 'check y']);
  });

  it('stops: nothing queued afterwards runs, and timers set with later() never fire', async () => {
    const { q, done } = setup();
    let fired = false;
    q.later(20, () => (fired = true));
    q.stop();
    q.hint('late');
    await q.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toEqual([]);
    expect(fired).toBe(false);
  });
});
