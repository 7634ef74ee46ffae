// Keeps the index's packed stamp pages (index/stamp-pages.ts) built, so the next restart's walk
// reads them instead of stepping through every entry. A page is dropped by any write in its range
// (the index's triggers); this builds the missing ones a chunk of rows at a time, never while
// `busy()` (a mirror writes the entries the pages would hold, a restart's walk reads them), and at
// most a fifth of one core: between chunks it waits four times as long as the last one took, so
// writes scattered all over a busy tree cannot keep it rebuilding. After a full mirror of 1M
// files that is ~1,000 pages (~2.5 s of CPU), built once.
import type { StampPages } from '../index/index.js';
import { log } from '../shared/log.js';

/** Rows built per turn (~10-25 ms of the main thread). */
const CHUNK_ROWS = 8192;
/** How often an idle connection looks for missing pages. */
const IDLE_MS = 1000;
/** Waited after a chunk, per ms it took. */
const REST_PER_MS = 4;

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
    const t0 = performance.now();
    try {
      if (!busy()) done = pages.refresh(CHUNK_ROWS);
    } catch (err) {
      // Only a cost: without pages a restart reads the entries themselves. Said once.
      if (!warned) log.warn(`${name}: cannot keep stamp pages: ${(err as Error).message}`);
      warned = true;
    }
    later(done ? IDLE_MS : (performance.now() - t0) * REST_PER_MS);
  };
  later(IDLE_MS);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
