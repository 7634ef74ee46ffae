// Crash mode's capture cycles (docs/CONSISTENCY.md, "A capture cycle forms a group"): a cycle
// takes a read-only snapshot of the source's subvolume, checks every path hinted up to then
// inside that snapshot, settles the disappearances, and closes the group with a `mark` op
// `{group, point}`. The target applies a group only whole (src/target/group-stage.ts), so the
// replica moves from one snapshot's state to the next.
import { lstatSync } from 'node:fs';
import { log } from '../shared/log.js';
import type { Capture } from './capture.js';
import type { Snapshots } from './consistency-snapshots.js';
import type { GroupsStatus } from '../control/replies.js';

/** At most one group this often: at 50-200 ms writers kept their throughput (docs/CONSISTENCY.md). */
export const GROUP_MIN_INTERVAL_MS = 100;
/**
 * After a snapshot, how long hints get to come in. inotify queues an event within the write that
 * causes it, so every write already in the snapshot has its event queued by the time the snapshot
 * returns; a hint for a write after the snapshot is checked in this cycle and the next.
 */
export const HINT_DRAIN_MS = 25;

/**
 * Resolves after `ms` and then after one poll phase of the event loop: every event the kernel had
 * queued when the wait began has been read (libuv reads the inotify queue until it is empty in a
 * poll phase, and the watcher hints synchronously). A timer alone is not enough: on a loaded
 * machine the process can be descheduled in the middle of JavaScript, and on the next turn the
 * loop runs due timers before it polls, so the drain ended with hints still in the kernel (seen
 * at load 10: a task saw `latest` from one snapshot and a slot file from the one before).
 */
function drainHints(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), ms));
}
/** A file modified this close before its snapshot is compared by content next time (see index). */
const RACY_MS = 50;
/** After a failed snapshot, the next try waits this long. */
const RETRY_MS = 2000;

/** One group as closed on the source: its marker's seq and its snapshot's time. */
export interface GroupMark {
  group: number;
  seq: number;
  point: string;
}

/** What the cycles drive of the capture pipeline. */
export type GroupCapture = Pick<
  Capture,
  'hint' | 'enqueueStep' | 'flushGone' | 'ledger' | 'readFrom' | 'rescan' | 'onEmitted'
>;

/** How a group is cut (`cut`). */
export interface CutOptions {
  /** Also compare the whole snapshot with the index (the barrier of `wait` and `queue-task`). */
  rescan?: boolean;
  /** A timer's cycle: skipped when nothing is pending. */
  timed?: boolean;
  /**
   * Runs in the pipeline step that closes the group, just before its marker: what it queues
   * (a task marker) is the group's last op, so the target reaches it exactly at the group's end.
   */
  beforeMark?: () => Promise<void>;
}

/** The consistency groups of one crash-mode connection. */
export class ConsistencyGroups {
  private pending = new Set<string>();
  private next = 1;
  private reading = 0;
  private dev = 0n;
  /** When the snapshot capture reads was begun (ms). */
  private readCut = 0;
  private readonly cutAt = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  /** A timed cycle is due (set until it begins, so a burst of hints asks for one cycle). */
  private due = false;
  /** An op was queued outside a cycle since the last marker (its group is open). */
  private open = false;
  private chain: Promise<unknown> = Promise.resolve();
  private inCycle = false;
  private lastCut = 0;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private readonly marks: GroupMark[] = [];
  private readonly snapshotMs: number[] = [];
  /** Why the last cycle failed (a snapshot that could not be taken), or null. */
  error: string | null = null;

  constructor(
    private readonly capture: GroupCapture,
    private readonly snaps: Snapshots,
  ) {}

  /** The st_dev of the snapshot capture reads now (consistency-index.ts). */
  readonly readDev = (): bigint => this.dev;

  /** Files modified at or after this (ns) may have changed since without a new mtime. */
  readonly racyFloorNs = (): bigint => BigInt(this.readCut - RACY_MS) * 1_000_000n;

  /** Takes the first snapshot and points capture at it, before capture reads anything. */
  async start(): Promise<void> {
    const left = await this.snaps.left();
    this.next = Math.max(0, ...left) + 1;
    await this.snaps.dropAll();
    const n = this.next++;
    this.cutAt.set(n, Date.now());
    await this.snaps.take(n);
    this.switchTo(n);
    // An op queued between cycles (a rescan's, a mirror step's) belongs to the open group: close it.
    this.unsubscribe = this.capture.onEmitted((e) => {
      if (e.kind === 'mark' || this.inCycle) return;
      this.open = true;
      this.schedule();
    });
  }

  /** A watcher hint: checked inside the next cycle's snapshot. */
  hint(rel: string): void {
    this.pending.add(rel);
    this.schedule();
  }

  /**
   * Cuts a group now (after the cycle in hand): its snapshot is taken after the call, so it holds
   * every change made before it.
   */
  cut(o: CutOptions = {}): Promise<GroupMark | null> {
    const run = this.chain.then(
      () => this.cycle(o),
      () => this.cycle(o),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The last group closed on the source, and the last the target acknowledged (by `ackedSeq`). */
  status(ackedSeq: number): GroupsStatus {
    while (this.marks.length > 1 && (this.marks[1] as GroupMark).seq <= ackedSeq)
      this.marks.shift();
    const first = this.marks[0];
    const acked = first && first.seq <= ackedSeq ? first : null;
    const sorted = [...this.snapshotMs].sort((a, b) => a - b);
    return {
      last: this.marks.at(-1)?.group ?? null,
      acked: acked?.group ?? null,
      point: acked?.point ?? null,
      behindMs: acked ? Date.now() - Date.parse(acked.point) : null,
      snapshotMs: sorted.length ? Math.round(sorted[sorted.length >> 1] as number) : null,
      intervalMs: GROUP_MIN_INTERVAL_MS,
    };
  }

  /** Stops cutting groups (the snapshots stay for the next start, which deletes them). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe?.();
  }

  private schedule(delayMs = GROUP_MIN_INTERVAL_MS): void {
    if (this.stopped || this.due) return;
    this.due = true;
    const wait = Math.max(0, this.lastCut + delayMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.cut({ timed: true }).catch((err: Error) => {
        this.error = err.message;
        log.error(`crash mode: ${err.message}; trying again in ${RETRY_MS / 1000} s`);
        this.schedule(RETRY_MS);
      });
    }, wait);
    this.timer.unref();
  }

  private async cycle(o: CutOptions): Promise<GroupMark | null> {
    if (o.timed) this.due = false;
    // A timed cycle with nothing to do (an explicit cut took its hints): no snapshot, no group.
    if (o.timed && this.pending.size === 0 && !this.open) return null;
    this.open = false;
    const n = this.next++;
    this.lastCut = Date.now();
    this.cutAt.set(n, this.lastCut);
    const taken = this.pending;
    this.pending = new Set();
    const t0 = performance.now();
    try {
      await this.snaps.take(n);
    } catch (err) {
      for (const rel of taken) this.pending.add(rel); // not lost: the next try checks them
      this.open = true;
      throw err;
    }
    this.snapshotMs.push(performance.now() - t0);
    if (this.snapshotMs.length > 100) this.snapshotMs.shift();
    await drainHints(HINT_DRAIN_MS);
    // Hints that came in since the snapshot began may be for writes in it, or after it: both.
    for (const rel of this.pending) taken.add(rel);
    this.inCycle = true;
    try {
      const before = this.reading;
      await this.capture.enqueueStep(async () => this.switchTo(n));
      await this.snaps.drop(before).catch((err: Error) => log.warn(`crash mode: ${err.message}`));
      for (const rel of taken) this.capture.hint(rel);
      if (o.rescan) await this.capture.rescan();
      await this.capture.flushGone();
      const point = new Date(this.lastCut).toISOString();
      let seq = 0;
      await this.capture.enqueueStep(async () => {
        await o.beforeMark?.();
        seq = (await this.capture.ledger.emit({ kind: 'mark', meta: { group: n, point } })).seq;
      });
      const mark = { group: n, seq, point };
      this.marks.push(mark);
      if (this.marks.length > 10_000) this.marks.shift();
      this.error = null;
      return mark;
    } finally {
      this.inCycle = false;
    }
  }

  /** Capture reads group `n`'s snapshot from now on (run as a pipeline step). */
  private switchTo(n: number): void {
    const root = this.snaps.readRoot(n);
    this.dev = BigInt(lstatSync(root).dev);
    this.readCut = this.cutAt.get(n) ?? Date.now();
    for (const k of this.cutAt.keys()) if (k <= n) this.cutAt.delete(k);
    this.capture.readFrom(root);
    this.reading = n;
  }
}
