// Keeps the index's packed stamp pages (index/stamp-pages.ts) built, so the next restart's walk
// reads them instead of stepping through every entry. A page is dropped by any write in its range
// (the index's triggers); this builds the missing ones while the connection is idle: a chunk of
// rows at a time, a timer turn between chunks, never while a mirror runs (it writes the entries
// the pages would hold). After a full mirror of 1M files that is ~1,000 pages, built once.
import type { StampPages } from '../index/index.js';
import { log } from '../shared/log.js';

/** Rows built per turn (~10-25 ms of the main thread). */
const CHUNK_ROWS = 8192;
/** How often an idle connection looks for missing pages. */
const IDLE_MS = 1000;

/** Starts keeping `pages` built while `busy()` is false; returns what stops it. */
export function keepStampPages(pages: StampPages, busy: () => boolean, name: string): () => void {
  let stopped = false;
  let warned = false;
  let timer: NodeJS.Timeout | null = null;
  const later = (ms: number): void => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = (): void => {
    timer = null;
    if (stopped) return;
    let done = true;
    try {
      if (!busy()) done = pages.refresh(CHUNK_ROWS);
    } catch (err) {
      // Only a cost: without pages a restart reads the entries themselves. Said once.
      if (!warned) log.warn(`${name}: cannot keep stamp pages: ${(err as Error).message}`);
      warned = true;
    }
    later(done ? IDLE_MS : 0);
  };
  later(IDLE_MS);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
