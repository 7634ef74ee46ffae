// A restarted source (docs/ARCHITECTURE.md, "Restart"): what changed while it was down, or was
// captured and never acknowledged, is found by comparing the tree with the index, deletions
// through the brake; then a mirror if one is owed. The target is never listed for it, so a file
// someone put into the replica survives any number of restarts.
import { log } from '../shared/log.js';
import { nextTurn } from '../shared/yield.js';
import type { Connection } from './connection.js';
import type { Recovered } from './index-open.js';
import type { Reconciler } from './reconcile.js';
import type { ConnectionWatch } from './watch-connection.js';

/** Runs a restarted connection's reconciliation, then the mirror it owes, if any. */
export async function afterRestart(
  c: Pick<Connection, 'cfg' | 'capture' | 'mirror' | 'name'>,
  r: Recovered,
  watch: Pick<ConnectionWatch, 'place' | 'endDeferred'>,
): Promise<void> {
  if (!c.cfg.replicate) return; // remirror-required: `replicate on` mirrors
  const { capture } = c;
  for (const rel of r.tombstones) capture.detach(() => capture.redoRemoval(rel));
  let res;
  try {
    // Without a baseline a path the index lacks may never have been sent: only renames count.
    res = await capture.reconciler.restart({
      unknown: capture.ledger.baseline ? 'all' : 'renames',
      brake: true,
      // The watcher, started deferred, watches each directory as this walk comes to list it.
      beforeList: (rel, st) => watch.place(rel, st),
    });
  } finally {
    watch.endDeferred(res !== undefined);
  }
  if (res.held) log.warn(`${c.name}: deletions held: ${res.held}`);
  if (c.cfg.remirrorRequired) c.mirror.start({ mode: 'diff' });
  else if (!capture.ledger.baseline && c.cfg.mirror !== 'none')
    // The first mirror never completed: it is run again, comparing (what is there stays).
    c.mirror.start({ mode: c.cfg.mirror === 'checksum' ? 'checksum' : 'diff' });
}

/** afterRestart in the background; a pass cut short by the daemon's stop is no failure to report. */
export function startAfterRestart(
  c: Parameters<typeof afterRestart>[0],
  r: Recovered,
  watch: Parameters<typeof afterRestart>[2],
  stopping: () => boolean,
): void {
  afterRestart(c, r, watch).catch((err: Error) => {
    // A stop closes the index under a running pass; the next start reconciles again.
    if (!stopping()) log.error(`${c.name}: reconciliation: ${err.message}`);
  });
}

// A barrier (`wait`, `queue-task`, verify) asked for while the restart's reconciliation runs takes
// that pass as its own walk instead of walking the tree once more. The barrier promises that every
// change completed before the call is queued. The restart's pass watches each directory right
// before it lists it (or begins once all are watched) and compares every path with the index: a
// change made before the pass reached its path is found by the walk; one made after, by the
// watcher's event. So when the watcher reported nothing since it started until after the call
// (its queued events read), nothing changed since the pass began, and the pass is the walk the
// barrier needs. Anything else — a report, a directory not watched, a backend that holds events
// back, deletions held by the brake, a pass that failed — and the barrier walks as before.

/** Turns of the event loop with a poll phase between: every event the kernel queued is read. */
async function readQueuedEvents(): Promise<void> {
  // A setImmediate runs after the current turn's poll; the second, after a whole turn's poll.
  for (let i = 0; i < 2; i++) await nextTurn();
}

/**
 * True when a barrier asked for now is met by the running restart pass, once that has ended (its
 * hints queued, its deletions done). False: the barrier walks itself.
 */
export async function restartPassCovers(
  watch: Pick<ConnectionWatch, 'reports' | 'complete'>,
  reconciler: Pick<Reconciler, 'runningRestart' | 'held'>,
): Promise<boolean> {
  const pass = reconciler.runningRestart;
  if (pass === null || !watch.complete || watch.reports !== 0) return false;
  const res = await pass.catch(() => null);
  if (res === null || res.held !== null || reconciler.held !== null) return false;
  await readQueuedEvents();
  return watch.complete && watch.reports === 0;
}
