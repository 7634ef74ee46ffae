// The capture pipeline's work queue: an insertion-ordered, coalescing set of "check this path"
// items and in-line steps (mirror work, task markers), run one at a time, strictly in order.
// Disappearances waiting in the rename window are settled between items. It holds at most
// MAX_QUEUED_PATHS paths in memory: beyond that, hints go to the spill (hint-spill.ts, on disk)
// and come back as the queue empties, so a load capture cannot keep up with costs disk, not memory.
import { log } from '../shared/log.js';
import type { HintSpill } from './hint-spill.js';
import type { RenameWindow } from './rename-window.js';

/** A path is checked once no hint arrived for it for this long (bursts coalesce)... */
export const QUIET_MS = 2;
/** ...or once it has waited this long, however busy it is. */
export const MAX_DELAY_MS = 250;
/** Paths held in memory at most (~150 bytes each); more go to the spill. */
export const MAX_QUEUED_PATHS = 8192;
/** Spilled paths taken back per refill, once the queue is down to half its limit. */
const REFILL_PATHS = 1024;
/** The loop lets other I/O run at least this often. */
const YIELD_EVERY_MS = 20;
/** The log says the queue spills at most this often. */
const SPILL_LOG_MS = 60_000;

/** A unit of work run in line. */
export type Step = () => Promise<void>;

/** What the queue runs. */
export interface QueueWork {
  /** A hinted path came due: compare it with what the target has. */
  check(rel: string, force: boolean): Promise<void>;
  /** A disappearance's window passed: queue its delete (or find it came back). */
  settle(rel: string): Promise<void>;
  /** A check, step or settle failed (the queue goes on). */
  failed(err: Error): void;
}

interface Item {
  first: number;
  last: number;
  step?: Step;
  force?: boolean; // send whole, whatever the known state says
}

/** Ordered work of one connection's capture. */
export class WorkQueue {
  private items = new Map<string, Item>();
  /** Steps among the items (the limit counts paths). */
  private stepsQueued = 0;
  private stepSeq = 0;
  private spillLogged = -Infinity;
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  /** Hints kept while a restore writes the live path (path -> force), or null. */
  private held: Map<string, boolean> | null = null;

  /** `spill`: where hints go beyond `limit` paths (none: memory only, for unit tests). */
  constructor(
    private readonly work: QueueWork,
    private readonly gone: RenameWindow,
    private readonly spill: HintSpill | null = null,
    private readonly limit = MAX_QUEUED_PATHS,
  ) {}

  /** A hint that `rel` may have changed; `force` sends it whole. */
  hint(rel: string, force = false): void {
    if (this.stopped || !rel || rel.startsWith('..')) return;
    if (this.held) {
      this.held.set(rel, (this.held.get(rel) ?? false) || force);
      return;
    }
    const it = this.items.get(rel);
    if (it) {
      it.last = Date.now();
      it.force ||= force;
    } else if (this.spill && (this.spill.busy || this.paths >= this.limit)) {
      // Behind what is spilled already, so spilled hints are not overtaken for ever.
      if (!this.spill.busy) this.spilling();
      this.spillSafely(() => this.spill?.add(rel, force));
    } else this.addPath(rel, force, Date.now());
    this.kick();
  }

  /**
   * Keeps every hint from now on instead of queueing it, until the returned function is called:
   * it queues them all, or with `requeue` false drops them (a restore writing into the live path,
   * src/source/restore.ts: its writes must not be sent back; the diff mirror after it checks every
   * path). Steps still run.
   */
  holdHints(): (requeue?: boolean) => void {
    const held = new Map<string, boolean>();
    this.held = held;
    return (requeue = true) => {
      if (this.held !== held) return;
      this.held = null;
      if (requeue) for (const [rel, force] of held) this.hint(rel, force);
    };
  }

  /** Runs `step` in line, after every item queued before it. */
  enqueueStep(step: Step): Promise<void> {
    return new Promise((resolve, reject) => {
      const run = () => step().then(resolve, (e) => (reject(e), undefined));
      // Behind the spilled hints too: they were queued before it.
      if (this.spill?.busy) this.spill.hold(run);
      else this.addStep(run);
      this.kick();
    });
  }

  /** Items waiting, in memory and spilled (the mirror holds back while this is large). */
  get backlog(): number {
    return this.items.size + (this.spill?.size ?? 0);
  }

  /** Resolves once nothing is queued, waiting or in progress (deletes still in their window excepted). */
  idle(): Promise<void> {
    if (!this.running && (this.empty || this.stopped)) return Promise.resolve();
    if (!this.running) this.kick(); // spilled work a stopped process left
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Runs `fn` after `ms` unless the queue stopped meanwhile. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Stops after the work in hand; nothing queued later runs. */
  stop(): void {
    this.stopped = true;
    // Hints in memory still: as marks, they are taken back after a restart.
    this.spillSafely(() => this.spill?.flush());
    if (this.timer) clearTimeout(this.timer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wake?.();
  }

  private kick(): void {
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      let since = Date.now();
      while (!this.stopped) {
        if (!(await this.turn())) break;
        // A backlog of ready items runs on microtasks alone (the journal writes synchronously):
        // let I/O in now and then, or the sender's socket and its acks wait for the whole backlog.
        if (Date.now() - since >= YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          since = Date.now();
        }
      }
    } finally {
      this.running = false;
      if (this.empty || this.stopped) for (const w of this.idleWaiters.splice(0)) w();
      // Only spilled work left ends the loop when the spill failed: the next hint tries again.
      else if (this.items.size > 0) void this.loop();
    }
  }

  /** One round of the loop; false when there is nothing left to do or wait for. */
  private async turn(): Promise<boolean> {
    this.refill();
    const now = Date.now();
    const next = this.items.size ? this.nextReady(now) : null;
    // A disappearance whose window passed settles once no check is ready to run: one of those
    // checks may be its new name (a busy pipeline holds it up longer than the window, and a
    // renamed directory sent as rmdir + every file again cost a whole resend). A path overdue
    // by MAX_DELAY_MS settles anyway, so a steady stream of changes cannot hold deletes back.
    const dueGone = this.gone.due(next && 'key' in next ? now - MAX_DELAY_MS : now);
    if (dueGone !== undefined) {
      await this.guard(() => this.work.settle(dueGone));
      return true;
    }
    if (!next) {
      if (this.gone.size === 0) return false;
      await this.sleep(Math.max(1, this.gone.earliest() - now));
      return true;
    }
    if ('wait' in next) {
      await this.sleep(Math.max(1, Math.min(next.wait, this.gone.earliest() - now)));
      return true;
    }
    const { key, it } = next;
    this.items.delete(key);
    const step = it.step;
    if (step) this.stepsQueued--;
    await this.guard(step ?? (() => this.work.check(key, it.force ?? false)));
    return true;
  }

  /**
   * The head item when it is ready, else how long to wait for it. Items are taken strictly in
   * order: letting ready paths overtake a waiting one was faster for bursts, but coincided with
   * stale files in the kill -9 tests and was taken back until that is understood.
   */
  private nextReady(now: number): { key: string; it: Item } | { wait: number } {
    const head = this.items.entries().next();
    if (head.done) return { wait: MAX_DELAY_MS };
    const [key, it] = head.value;
    const readyAt = Math.min(it.last + QUIET_MS, it.first + MAX_DELAY_MS);
    return readyAt <= now ? { key, it } : { wait: Math.max(1, readyAt - now) };
  }

  /** Paths held in memory. */
  private get paths(): number {
    return this.items.size - this.stepsQueued;
  }

  /** Nothing in memory or spilled. */
  private get empty(): boolean {
    return this.items.size === 0 && !this.spill?.busy;
  }

  private addPath(rel: string, force: boolean, at: number): void {
    this.items.set(rel, { first: at, last: at, force });
  }

  private addStep(run: Step): void {
    const due = Date.now() - MAX_DELAY_MS;
    this.items.set(`\0step:${++this.stepSeq}`, { first: due, last: due, step: run });
    this.stepsQueued++;
  }

  private spilling(): void {
    if (Date.now() - this.spillLogged < SPILL_LOG_MS) return;
    this.spillLogged = Date.now();
    log.info(
      `capture: ${this.limit} paths queued in memory; further changes wait in the index ` +
        'until capture catches up',
    );
  }

  /**
   * The index cannot be written or read (a full disk): reported like a failed check, which stops
   * the queue and remirrors on a full disk (queue-overflow.ts). The hints stay buffered meanwhile.
   */
  private spillSafely<T>(fn: () => T): T | [] {
    try {
      return fn();
    } catch (err) {
      this.work.failed(err as Error);
      return [];
    }
  }

  /** Down to half its limit: takes spilled paths back (due at once: they waited), then steps. */
  private refill(): void {
    const spill = this.spill;
    if (!spill?.busy || this.paths > this.limit / 2) return;
    const due = Date.now() - MAX_DELAY_MS;
    const n = Math.min(REFILL_PATHS, this.limit - this.paths);
    for (const t of this.spillSafely(() => spill.take(n))) {
      if ('step' in t) this.addStep(t.step);
      else {
        const it = this.items.get(t.rel);
        if (it) it.force ||= t.force;
        else this.addPath(t.rel, t.force, due);
      }
    }
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.work.failed(err as Error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
    }).finally(() => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    });
  }
}
