// Long synchronous walks (a restart's reconciliation, a scan, the watcher placing its watches) let
// events, acknowledgements and the pipeline in between batches of entries: one rule for all.

/** Entries a walk handles between two turns of the event loop. */
export const YIELD_EVERY = 512;

/** Resolves on the next turn of the event loop, after its poll phase (I/O callbacks run first). */
export function nextTurn(): Promise<void> {
  return new Promise((ok) => setImmediate(ok));
}
