// The capture pipeline of one connection, put together: the work queue (ordered, coalescing
// hints and in-line steps), the rename window, the path checks and the ledger of what was queued.
// Watcher events are only hints, so a dropped or throttled event cannot lose a change as long as
// some later hint, rescan or mirror names the path. The mirror's per-file steps work through the
// small MirrorHost interface this class implements (mirror-steps.ts).
import { promises as fsp } from 'node:fs';
import type { JournalRecord } from '../journal/types.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { entryType } from './entry-type.js';
import type { PathFilter } from './filter.js';
import { Ledger, type Append } from './ledger.js';
import type { MirrorHost } from './mirror-steps.js';
import { PathCheck, type CheckOptions } from './path-check.js';
import type { QueuedOp } from './queued-op.js';
import { RenameWindow } from './rename-window.js';
import { scanTree } from './scan.js';
import { WorkQueue, type Step } from './work-queue.js';

/** The pipeline's timing constants, where its callers and tests look for them. */
export { RELIST_AFTER_MS } from './path-check.js';
export { RENAME_WINDOW_MS } from './rename-window.js';
export { MAX_DELAY_MS, QUIET_MS } from './work-queue.js';

/** What capture needs from its connection. */
export interface CaptureHooks {
  /** Makes sure the watcher watches a directory capture learned of. */
  watchDir(rel: string): void;
  /** A check or step failed; the pipeline goes on. */
  failed(err: Error): void;
}

/** One connection's capture pipeline. */
export class Capture implements MirrorHost {
  readonly ledger: Ledger;
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

  constructor(
    readonly base: string,
    private readonly filter: PathFilter,
    append: Append,
    private readonly hooks: CaptureHooks,
  ) {
    this.ledger = new Ledger(append);
    this.queue = new WorkQueue(
      {
        check: (rel, force) => this.paths.check(rel, { force }),
        settle: (rel) => this.paths.settle(rel),
        failed: (err) => hooks.failed(err),
      },
      this.gone,
    );
    this.paths = new PathCheck({
      base,
      filter,
      ledger: this.ledger,
      gone: this.gone,
      queue: this.queue,
      watchDir: (rel) => hooks.watchDir(rel),
      watchingSince: () => this.watchingSince,
      enabled: () => this.enabled,
    });
  }

  /** A hint that `rel` may have changed. */
  hint(rel: string, force = false): void {
    this.queue.hint(rel, force);
  }

  /** Runs `step` in line, after every item queued before it. */
  enqueueStep(step: Step): Promise<void> {
    return this.queue.enqueueStep(step);
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
      void this.enqueueStep(async () => resolve(await this.ledger.emit(e))).catch(reject);
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
   * Step: forget what is known about `rel` and send it again in full (mirror, verify --fix, NEED).
   * Gone from the disk, it is deleted on the target instead.
   */
  async resend(rel: string, o: CheckOptions = {}): Promise<void> {
    this.ledger.forget(rel);
    if (lstatOrNull(this.abs(rel))) {
      await this.paths.check(rel, { scanned: o.scanned, gate: o.gate });
      // Sent, or not replicated (excluded, a fifo): either way the check decided.
      if (this.ledger.known.get(rel) || lstatOrNull(this.abs(rel))) return;
    }
    // Gone, before or while it was read: the target's copy, found different, must go too (a
    // mirror's scan, NEED). Nothing known is left to turn a later hint into this delete.
    await this.ledger.emit({ kind: 'delete', meta: { p: rel } });
    this.ledger.forgetTree(rel);
  }

  /** Step: deletes a target path that is not in the source set (if still absent here). */
  async deleteOrphan(rel: string): Promise<boolean> {
    if (this.ledger.known.get(rel) || lstatOrNull(this.abs(rel))) return false;
    await this.ledger.emit({ kind: 'delete', meta: { p: rel } });
    return true;
  }

  /** The queue restarted (a new epoch): nothing is known to be on the target, no seq is pending. */
  forgetStream(): void {
    this.ledger.forgetStream();
  }

  /** Calls `fn` with every operation queued from now on; returns the unsubscribe function. */
  onEmitted(fn: (e: QueuedOp, seq: number) => void): () => void {
    return this.ledger.onEmitted(fn);
  }

  /** Compares the whole tree with the known state and hints every difference (the barrier's rescan). */
  async rescan(): Promise<void> {
    const known = this.ledger.known;
    const seen = new Set<string>();
    for await (const { rel, st } of scanTree(this.base, this.filter)) {
      seen.add(rel);
      const k = known.get(rel);
      const type = entryType(st);
      if (
        !k ||
        k.type !== type ||
        k.ino !== st.ino ||
        k.mode !== (st.mode & 0o7777) ||
        (type === 'file' && (k.size !== st.size || k.mtimeMs !== st.mtimeMs))
      ) {
        this.hint(rel);
      } else if (
        type === 'symlink' &&
        (await fsp.readlink(this.abs(rel)).catch(() => null)) !== k.link
      )
        this.hint(rel);
    }
    for (const rel of known.paths()) if (!seen.has(rel)) this.hint(rel);
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
