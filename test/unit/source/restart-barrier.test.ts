// When a barrier may take the running restart reconciliation as its own walk (restart.ts): only
// when the watcher reported nothing from its start until the events queued at the call were read.
import { describe, expect, it, vi } from 'vitest';
import type { ReconcileResult } from '../../../src/source/reconcile.js';
import { restartPassCovers, startAfterRestart } from '../../../src/source/restart.js';
import { log } from '../../../src/shared/log.js';

const DONE: ReconcileResult = { deletes: 0, sourceEntries: 10, held: null };

function parts(pass: Promise<ReconcileResult> | null) {
  const watch = { reports: 0, complete: true };
  const reconciler = { runningRestart: pass, held: null as string | null };
  return { watch, reconciler, covers: () => restartPassCovers(watch, reconciler) };
}

describe('restartPassCovers', () => {
  it('stands in for the walk when the watcher saw nothing', async () => {
    expect(await parts(Promise.resolve(DONE)).covers()).toBe(true);
  });

  it('walks when no restart pass runs', async () => {
    expect(await parts(null).covers()).toBe(false);
  });

  it('walks when the watcher reported anything, before or during the pass', async () => {
    const before = parts(Promise.resolve(DONE));
    before.watch.reports = 1;
    expect(await before.covers()).toBe(false);
    let end!: (r: ReconcileResult) => void;
    const during = parts(new Promise((ok) => (end = ok)));
    const answer = during.covers();
    during.watch.reports = 1;
    end(DONE);
    expect(await answer).toBe(false);
  });

  it('reads the events queued at the call before it answers', async () => {
    const p = parts(Promise.resolve(DONE));
    // An event read in the next turn of the loop (queued in the kernel before the call).
    setImmediate(() => p.watch.reports++);
    expect(await p.covers()).toBe(false);
  });

  it('walks when a directory is not watched, deletions are held, or the pass failed', async () => {
    const unwatched = parts(Promise.resolve(DONE));
    unwatched.watch.complete = false;
    expect(await unwatched.covers()).toBe(false);
    expect(await parts(Promise.resolve({ ...DONE, held: 'too many' })).covers()).toBe(false);
    const held = parts(Promise.resolve(DONE));
    held.reconciler.held = 'too many';
    expect(await held.covers()).toBe(false);
    expect(await parts(Promise.reject(new Error('EIO'))).covers()).toBe(false);
  });
});

describe('startAfterRestart', () => {
  /** A connection whose restart pass fails (as it does when stop() closes the index under it). */
  function failing() {
    const c = {
      name: 'web',
      cfg: { replicate: true },
      capture: {
        reconciler: { restart: () => Promise.reject(new Error('database connection is not open')) },
      },
    };
    const watch = { place: () => undefined, endDeferred: () => undefined };
    return { c: c as never, watch: watch as never };
  }

  it('reports a failed pass, and not one cut short by the stop', async () => {
    const error = vi.spyOn(log, 'error').mockImplementation(() => undefined);
    try {
      for (const stopping of [false, true]) {
        error.mockClear();
        const { c, watch } = failing();
        startAfterRestart(c, { tombstones: [] } as never, watch, () => stopping);
        await new Promise((ok) => setImmediate(ok));
        expect(error.mock.calls.length, `stopping ${stopping}`).toBe(stopping ? 0 : 1);
      }
    } finally {
      error.mockRestore();
    }
  });
});
