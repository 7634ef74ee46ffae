// Detecting a lost inotify queue. The kernel queues at most max_queued_events events per inotify
// instance and drops the rest, leaving one IN_Q_OVERFLOW record (wd -1), which libuv (and so
// Node's fs.watch, and chokidar on top of it) discards: nothing in JavaScript ever sees it. But
// libuv reads the whole queue, until EAGAIN, in one pass of the poll phase, calling back once per
// queued event of a live watch, and every fs.watch of the process shares that one instance. So a
// queue that overflowed is read back as at least ~max_queued_events callbacks before the next
// check phase. Counting the callbacks of one pass (all watchers of the process together) and
// calling a pass that reached the limit an overflow cannot miss a real one; the rare pass that
// read that many without overflowing costs a rescan, nothing worse.
import { readFileSync } from 'node:fs';

/** A watch whose events could not all be trusted is told with the number of events of the pass. */
export type OverflowListener = (events: number) => void;

/**
 * Counts fs.watch callbacks per event-loop pass; a pass that reaches `threshold` is reported to
 * every listener (an overflow loses events of any watch of the instance, not just one).
 */
export class EventPass {
  private count = 0;
  private scheduled = false;
  private readonly listeners = new Set<OverflowListener>();
  /** Passes reported as overflows so far. */
  overflows = 0;

  /** `threshold`: callbacks per pass that mean the queue may have overflowed (null: never). */
  constructor(readonly threshold: number | null) {}

  /** Registers a listener; returns the function that removes it. */
  listen(fn: OverflowListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * One callback (or `n`), counted for the current pass. A watch closed in this pass also counts:
   * the kernel queues an IN_IGNORED for it that libuv then drops, so the queue held one more.
   */
  note(n = 1): void {
    this.count += n;
    if (this.scheduled) return;
    this.scheduled = true;
    // The check phase runs after the poll phase that is delivering these callbacks: by then the
    // whole pass has been counted.
    setImmediate(() => this.endPass());
  }

  private endPass(): void {
    const n = this.count;
    this.count = 0;
    this.scheduled = false;
    if (this.threshold === null || n < this.threshold) return;
    this.overflows++;
    for (const fn of [...this.listeners]) fn(n);
  }
}

/** The queue limit of a new inotify instance (Linux), or null where there is none to read. */
export function inotifyQueueLimit(file = '/proc/sys/fs/inotify/max_queued_events'): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Callbacks per pass taken as an overflow for a queue of `limit` events: a sixteenth below it,
 * since events of watches closed meanwhile are dropped by libuv without a callback.
 */
export function overflowThreshold(limit: number | null): number | null {
  return limit === null ? null : Math.max(1, limit - Math.floor(limit / 16));
}

let shared: EventPass | null = null;

/**
 * The process's pass counter, created at the first watch (the process has one inotify instance,
 * created by libuv at its first fs.watch with the limit in force at that moment).
 */
export function sharedEventPass(): EventPass {
  shared ??= new EventPass(overflowThreshold(inotifyQueueLimit()));
  return shared;
}
