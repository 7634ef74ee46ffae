// The capture pipeline of one connection, put together: the work queue (ordered, coalescing
// hints and in-line steps), the rename window, the path checks and the ledger of what was queued.
// Watcher events are only hints, so a dropped or throttled event cannot lose a change as long as
// some later hint, rescan or mirror names the path. The mirror's per-file steps work through the
// small MirrorHost interface this class implements (mirror-steps.ts).
import type { PathIndex } from '../index/index.js';
import type { JournalRecord } from '../journal/types.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import type { PathFilter } from './filter.js';
import { Ledger, type Append } from './ledger.js';
import { carried, DiskAttrs, type NotCarried } from './entry-attrs.js';
import { HintSpill } from './hint-spill.js';
import type { MirrorHost } from './mirror-steps.js';
import { PathCheck, type CheckOptions } from './path-check.js';
import type { QueuedOp } from './queued-op.js';
import { Reconciler, type ReconcileOptions, type ReconcileResult } from './reconcile.js';
import { RenameWindow } from './rename-window.js';
import { Skipped } from './skipped.js';
import { WorkQueue, type Step } from './work-queue.js';

/** The pipeline's timing constants, where its callers and tests look for them. */
export { RELIST_AFTER_MS } from './path-check.js';
export { RENAME_WINDOW_MS } from './rename-window.js';
export { MAX_DELAY_MS, MAX_QUEUED_PATHS, QUIET_MS } from './work-queue.js';

/** The directories (never the root) whose entries an op creates, renames or removes. */
function parentsChanged(e: QueuedOp): string[] {
  const entries = entriesChanged(e);
  const dirs = entries.filter((p) => p.includes('/')).map((p) => p.slice(0, p.lastIndexOf('/')));
  return dirs.length > 1 ? [...new Set(dirs)] : dirs;
}

/** The entries an op creates, renames or removes, as its directory's check must see them. */
function entriesChanged(e: QueuedOp): string[] {
  switch (e.kind) {
    case 'rename':
      return [e.meta.from, e.meta.to];
    case 'mkdir':
    case 'symlink':
    case 'link':
    case 'mknod':
    case 'delete':
    case 'rmdir':
      return [e.meta.p];
    case 'put':
      return e.meta.end ? [e.meta.p] : [];
    default:
      // Not a `files` op either: only a mirror's scan queues one, for files that were there when
      // their directory's time was read (its mkdir, or the listing), so the time still holds;
      // an entry changed since has an event of its own, whose op looks at the directory.
      // (A check per directory after its files was 8% of a 100k-file mirror's source CPU.)
      return [];
  }
}

/** What capture needs from its connection. */
export interface CaptureHooks {
  /** Makes sure the watcher watches a directory capture learned of. */
  watchDir(rel: string): void;
  /** A check or step failed; the pipeline goes on. */
  failed(err: Error): void;
  /** Attributes entries do not carry (`connect --no-owner` etc.); absent: all are carried. */
  attrs?: NotCarried;
}

/** One connection's capture pipeline. */
export class Capture implements MirrorHost {
  readonly ledger: Ledger;
  readonly reconciler: Reconciler;
  private readonly gone = new RenameWindow();
  private readonly queue: WorkQueue;
  private readonly paths: PathCheck;
  /**
   * Off while replication is off: watcher hints are dropped (the target is marked
   * remirror-required), but hints from mirror work and the target's resend requests still count —
   * dropping those left a mirror reporting complete with a file missing.
   */
  enabled = true;
  /** When the watcher started watching (0: treat every directory as new). */
  watchingSince = 0;
  /** What this connection did not replicate, and why (status's `skipped`). */
  readonly skipped = new Skipped();
  /** Hard links kept as links (not `connect --no-hard-links`). */
  readonly hardLinks: boolean;
  /** Where checks read the source: its path, or in crash mode the current cycle's snapshot. */
  private root: string;

  constructor(
    base: string,
    readonly filter: PathFilter,
    index: PathIndex,
    append: Append,
    lastSeq: number,
    private readonly hooks: CaptureHooks,
  ) {
    this.root = base;
    const ledger = new Ledger(
      index,
      append,
      lastSeq,
      new DiskAttrs((rel) => this.abs(rel), carried(hooks.attrs ?? {})),
    );
    this.ledger = ledger;
    this.hardLinks = hooks.attrs?.noHardLinks !== true;
    // Each item the queue runs is one batch of the index (ledger.ts, docs/INDEX.md "Write order").
    // A new, moved or removed entry changes its directory's mtime: look at the directory again,
    // so its new time follows (the target keeps directory times as the source sends them).
    ledger.onEmitted((e) => {
      for (const dir of parentsChanged(e)) this.queue.hint(dir);
    });
    this.queue = new WorkQueue(
      {
        check: (rel, force) => ledger.batched(() => this.paths.check(rel, { force })),
        settle: (rel) => ledger.batched(() => this.paths.settle(rel)),
        failed: (err) => hooks.failed(err),
      },
      this.gone,
      new HintSpill(index),
    );
    this.reconciler = new Reconciler(this);
    const root = (): string => this.root;
    this.paths = new PathCheck({
      get base() {
        return root();
      },
      filter,
      ledger: this.ledger,
      gone: this.gone,
      queue: this.queue,
      watchDir: (rel) => hooks.watchDir(rel),
      watchingSince: () => this.watchingSince,
      enabled: () => this.enabled,
      skipped: this.skipped,
      hardLinks: this.hardLinks,
    });
  }

  /** Where checks read the source (crash mode: inside the snapshot of the running cycle). */
  get base(): string {
    return this.root;
  }

  /** Crash mode: from now on checks read the source inside a snapshot (run as a pipeline step). */
  readFrom(root: string): void {
    this.root = root;
  }

  /** A hint that `rel` may have changed. */
  hint(rel: string, force = false): void {
    this.queue.hint(rel, force);
  }

  /** Runs `step` in line, after every item queued before it. */
  enqueueStep(step: Step): Promise<void> {
    return this.queue.enqueueStep(() => this.ledger.batched(step));
  }

  /** Resolves once everything queued before the call has run. */
  drain(): Promise<void> {
    return this.enqueueStep(async () => undefined);
  }

  /** Runs `step` in line like enqueueStep, for callers that do not wait: a failure is logged. */
  detach(step: Step): void {
    this.enqueueStep(step).catch((err: Error) => this.failed(err));
  }

  /** Reports a failure of work done for this pipeline (logged by the connection). */
  failed(err: Error): void {
    this.hooks.failed(err);
  }

  /** Queues an operation directly, in line with the path checks already queued. */
  appendInLine(e: QueuedOp): Promise<JournalRecord> {
    return new Promise((resolve, reject) => {
      void this.enqueueStep(async () => void resolve(await this.ledger.emit(e))).catch(reject);
    });
  }

  /** Resolves once nothing is queued, waiting or in progress (deletes still in their window excepted). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Turns every pending disappearance into its delete now (barriers must not leave them behind). */
  async flushGone(): Promise<void> {
    await this.enqueueStep(async () => {
      // One at a time until none is left: settling a path can add its vanished ancestor.
      for (let g = this.gone.first(); g !== undefined; g = this.gone.first())
        await this.paths.settle(g);
    });
  }

  /** Items waiting in the pipeline (the mirror holds back while this is large). */
  get backlog(): number {
    return this.queue.backlog;
  }

  /** Absolute path of `rel`. */
  abs(rel: string): string {
    return this.paths.abs(rel);
  }

  /** Makes sure the watcher watches a directory (a mirror recorded it). */
  watchDir(rel: string): void {
    this.hooks.watchDir(rel);
  }

  /**
   * Step: send `rel` again in full, whatever the index says (mirror, verify --fix, NEED). Gone from
   * the disk, it goes on the target too: through its rename window when the index holds it (its
   * new name may be on its way), at once otherwise (the target has a copy the index never had).
   */
  async resend(rel: string, o: CheckOptions = {}): Promise<void> {
    if (lstatOrNull(this.abs(rel))) {
      const { scanned, gate, linkAfter } = o;
      await this.paths.check(rel, { scanned, gate, linkAfter, force: true });
      // Sent, or not replicated (excluded, a fifo): either way the check decided.
      if (lstatOrNull(this.abs(rel))) return;
    }
    if (this.ledger.get(rel)) return this.hint(rel);
    await this.ledger.emit({ kind: 'delete', meta: { p: rel } });
  }

  /** Step: resends `rel`, and everything the index holds below it (the target lacks the tree). */
  async resendTree(rel: string): Promise<void> {
    await this.resend(rel);
    for (const p of this.ledger.below(rel)) this.hint(p, true);
  }

  /** Step: a removal the journal lost (docs/INDEX.md, restart case 3) is queued again. */
  async redoRemoval(rel: string): Promise<void> {
    await this.ledger.emit({ kind: 'delete', meta: { p: rel } });
  }

  /** Step: deletes a target path that is not in the source set (if still absent here). */
  async deleteOrphan(rel: string): Promise<boolean> {
    if (lstatOrNull(this.abs(rel))) return false;
    await this.ledger.emit({ kind: 'delete', meta: { p: rel } });
    return true;
  }

  /** The queue restarted (a new epoch): the index's entries stay, as evidence, every one unsure. */
  restartStream(epoch: number): void {
    this.ledger.restartStream(epoch);
  }

  /** Calls `fn` with every operation queued from now on; returns the unsubscribe function. */
  onEmitted(fn: (e: QueuedOp, seq: number) => void): () => void {
    return this.ledger.onEmitted(fn);
  }

  /**
   * Compares the whole tree with the index and queues every difference (the barrier's and the
   * periodic rescan, reconcile.ts). Paths only on disk are new once the connection has a baseline;
   * before that only renames count (a path never sent is not a change).
   */
  rescan(o: Partial<ReconcileOptions> = {}): Promise<ReconcileResult> {
    return this.reconciler.run({
      unknown: this.ledger.baseline ? 'all' : 'renames',
      brake: false,
      ...o,
    });
  }

  /**
   * Events may have been lost (the watcher failed or overflowed): every path is marked to be
   * looked at again, on disk, until a whole rescan settled. `wait` cannot say synced before.
   */
  lost(why: string): void {
    log.warn(`capture: changes may have been missed (${why}); rescanning the whole tree`);
    this.markLost();
    this.rescan().catch((err: Error) => this.failed(err));
  }

  /** Events may have been lost and a rescan is on its way: `wait` says synced only after it. */
  markLost(): void {
    this.ledger.markChanged('');
  }

  /** Keeps watcher (and every other) hint until the returned function queues or drops them. */
  holdHints(): (requeue?: boolean) => void {
    return this.queue.holdHints();
  }

  /** Stops after the work in hand. */
  stop(): void {
    this.queue.stop();
  }
}
