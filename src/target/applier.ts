// Applies one connection's operations strictly in seq order and acknowledges them only once they
// are durable. Checkpoint rules (why replay is safe) are in docs/ARCHITECTURE.md.
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { describe, escaped, pathsOf } from './op-paths.js';
import { Signal } from '../shared/signal.js';
import type { DurableCounter } from '../shared/durable-counter.js';
import type { Confiner } from './confine.js';
import { SYNCFS_MIN_PATHS, syncPaths } from './sync-paths.js';
import { unappliable } from './fault.js';
import type { Op } from '../protocol/ops.js';
import { Rebuilds } from '../delta/index.js';
import { applyDelta } from './delta-part.js';
import { restoreParentTimes, saveParentTimes } from './parent-times.js';
import { applyLink } from './link-ops.js';
import { applyMknod } from './node-ops.js';
import { filePuts, mergeOutcomes } from './files-apply.js';
import { NewFiles } from './new-files.js';
import {
  applyAttr,
  applyDelete,
  applyMkdir,
  applyPut,
  applyRename,
  applySymlink,
  applyWrite,
  type OpOutcome,
} from './ops.js';

/** One operation as received: its seq, the checked op and its data. */
export type IncomingOp = Op & { seq: number; body: Buffer };

/** Hooks the applier needs from its session. */
export interface ApplierHooks {
  ack(seq: number): void;
  need(path: string, seq: number): void;
  /** Runs a task marker (issue 4); resolves when applying may go on. */
  task?(op: Extract<IncomingOp, { kind: 'task' }>): Promise<void>;
  applied?(op: IncomingOp): void;
  /**
   * Applying stopped: `seq` could not be applied or made durable (a full disk, EIO, a gap). The
   * applier takes no more ops; nothing after the last ack is acknowledged, so the source resends.
   */
  failed(err: Error, seq: number): void;
}

// Checkpoint (fsync + durable applied seq + ack) at least this often while ops keep coming.
const CHECKPOINT_OPS = 2000;
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
const CHECKPOINT_MS = 100;
// With nothing queued, wait this long for more before a checkpoint (acks come this much later).
const CHECKPOINT_IDLE_MS = 3;

/** The in-order applier of one session. */
export class Applier {
  private queue: IncomingOp[] = [];
  private queuedBytes = 0;
  private running = false;
  private stopped = false;
  private applied: number;
  private durable: number;
  private touched = new Set<string>();
  private opsSince = 0;
  private bytesSince = 0;
  private lastCheckpoint = Date.now();
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | null = null;
  failure: Error | null = null;
  private arrivals = new Signal();
  private holds = 0;
  private released = new Signal();
  private current: Promise<void> = Promise.resolve();
  /** The seq being applied: where a failure happened (or the checkpoint's, failedSeq). */
  private attempting = 0;
  private failedSeq: number | undefined;
  /** The last checkpoint's sync and ack (applying goes on meanwhile). */
  private syncing: Promise<void> = Promise.resolve();
  /** Delta rebuilds in progress (their proof so far), for the parts that follow. */
  private readonly rebuilds = new Rebuilds();

  constructor(
    readonly confiner: Confiner,
    private readonly counter: DurableCounter,
    private readonly hooks: ApplierHooks,
  ) {
    this.applied = counter.value;
    this.durable = counter.value;
  }

  /** Highest seq applied (maybe not yet durable). */
  get appliedSeq(): number {
    return this.applied;
  }

  /**
   * Runs `fn` with applying held between two operations, and gives it the seq applied so far:
   * what `fn` reads of the replica is exactly the state after that seq (a mirror's listing; a
   * listing walked while renames are applied can miss a moved tree under both names).
   */
  async hold<T>(fn: (appliedSeq: number) => Promise<T>): Promise<T> {
    this.holds++;
    try {
      await this.current.catch(() => undefined);
      return await fn(this.applied);
    } finally {
      this.holds--;
      this.released.notify();
    }
  }

  /** Body bytes of the ops waiting to be applied (the session stops reading past a bound). */
  get waitingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues an op; the session's flow control bounds how many bytes wait here. */
  enqueue(op: IncomingOp): void {
    if (this.stopped) return;
    this.queue.push(op);
    this.queuedBytes += op.body.length;
    this.arrivals.notify();
    if (!this.running) this.run();
  }

  /** Finishes the op in hand and the checkpoint, then stops taking ops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.released.notify();
    await this.idle;
    if (!this.failure && this.applied > this.durable)
      await this.checkpoint().catch(() => undefined);
  }

  private run(): void {
    this.running = true;
    this.idle = new Promise((r) => (this.idleResolve = r));
    void this.loop().finally(() => {
      this.running = false;
      this.idleResolve?.();
    });
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length && !this.stopped) {
        while (this.holds > 0 && !this.stopped) await this.released.wait(1000);
        if (this.stopped) break;
        const op = this.queue.shift() as IncomingOp;
        this.queuedBytes -= op.body.length;
        this.current = this.applyOne(op);
        await this.current;
        const due =
          this.opsSince >= CHECKPOINT_OPS ||
          this.bytesSince >= CHECKPOINT_BYTES ||
          Date.now() - this.lastCheckpoint >= CHECKPOINT_MS ||
          this.touched.size >= CHECKPOINT_OPS;
        if (!due && this.queue.length === 0) await this.arrivals.wait(CHECKPOINT_IDLE_MS);
        // A burst shares checkpoints: an fsync per op would make the disk the bottleneck. With
        // more ops waiting, applying goes on while a bulk checkpoint's syncfs runs (the ack
        // still covers only what was applied before it began); a small one is waited for.
        if (this.queue.length === 0 || (due && this.touched.size < SYNCFS_MIN_PATHS))
          await this.checkpoint();
        else if (due) await this.beginCheckpoint();
      }
    } catch (err) {
      this.failure = err as Error;
      this.stopped = true;
      this.hooks.failed(err as Error, this.failedSeq ?? this.attempting);
    }
  }

  private async applyOne(op: IncomingOp): Promise<void> {
    if (op.seq <= this.applied) return; // resent after a reconnect: already applied
    this.attempting = op.seq;
    if (op.seq !== this.applied + 1) {
      throw new SmrError(
        'protocol',
        `operation seq ${op.seq} arrived but ${this.applied + 1} was expected`,
      );
    }
    // A rename is applied alone between two checkpoints: replaying it can then never meet a state
    // that a later operation already changed (see docs/ARCHITECTURE.md, "replay").
    const isolate = op.kind === 'rename';
    if (isolate) await this.checkpoint();
    const times = saveParentTimes(this.confiner.base, op);
    this.attempting = op.seq;
    const out = await this.dispatch(op);
    // Only after the op passed confinement (a refused op touched nothing).
    if (out.touched.length || out.structural) restoreParentTimes(times);
    if (log.debugOn) log.debug(`applied ${op.seq} ${op.kind}`, pathsOf(op));
    for (const t of out.touched) this.touched.add(t);
    if (out.structural) this.confiner.invalidate();
    if (out.need) this.hooks.need(out.need, op.seq);
    this.applied = op.seq;
    this.opsSince++;
    this.bytesSince += op.body.length;
    this.hooks.applied?.(op);
    if (isolate) await this.checkpoint();
  }

  private async dispatch(op: IncomingOp, newFiles?: NewFiles): Promise<OpOutcome> {
    try {
      switch (op.kind) {
        case 'put':
          return await applyPut(this.confiner, op.seq, op.meta, op.body, newFiles);
        case 'files': {
          // Each file is a put of its own: one refused is skipped and counted, the rest applied.
          const outs: OpOutcome[] = [];
          const newFiles = new NewFiles();
          for (const put of filePuts(op)) outs.push(await this.dispatch(put, newFiles));
          return mergeOutcomes(outs);
        }
        case 'delta':
          return await applyDelta(this.confiner, this.rebuilds, op.seq, op.meta, op.body);
        case 'write':
          return await applyWrite(this.confiner, op.meta, op.body);
        case 'mkdir':
          return await applyMkdir(this.confiner, op.meta);
        case 'delete':
        case 'rmdir':
          return await applyDelete(this.confiner, op.meta);
        case 'rename':
          return await applyRename(this.confiner, op.meta);
        case 'attr':
          return await applyAttr(this.confiner, op.meta);
        case 'symlink':
          return await applySymlink(this.confiner, op.meta);
        case 'link':
          return await applyLink(this.confiner, op.meta);
        case 'mknod':
          return await applyMknod(this.confiner, op.meta);
        case 'task':
          await this.checkpoint();
          if (this.hooks.task) await this.hooks.task(op);
          return { touched: [] };
        case 'mark':
          return { touched: [] };
      }
    } catch (err) {
      if (err instanceof SmrError && err.code === 'path-refused') {
        // Never write outside the replica; skip the op, say so loudly, count it, keep serving.
        log.error(`seq ${op.seq}: ${err.message}`);
        this.refused(op, 'path', err.message); // not where, or not what, a replica may hold
        return { touched: [] };
      }
      const why = unappliable(err);
      if (!why) throw err; // a disk fault (ENOSPC, EIO, ...): the session reports it, the source retries
      log.error(`seq ${op.seq}: cannot apply ${op.kind} ${describe(op)}: ${why}; skipped`);
      // A file system that takes UTF-8 names only refuses others with EILSEQ or EINVAL.
      const name = /ENAMETOOLONG|EILSEQ/.test(why) || (/EINVAL/.test(why) && escaped(op));
      this.refused(op, name ? 'name' : 'op', why);
      return { touched: [], structural: true }; // it may have changed something before it failed
    }
  }

  // An op not applied is counted (and reported to the source with the next ACK), never silent.
  private refused(op: Op, attr: string, reason: string): void {
    const p = Object.values(pathsOf(op))[0];
    if (p !== undefined) this.confiner.refusals.note(p, [{ attr, reason }]);
  }

  /** fsyncs what changed, records the applied seq durably, then acknowledges it. */
  async checkpoint(): Promise<void> {
    await this.beginCheckpoint();
    await this.syncing;
  }

  /**
   * Starts a checkpoint of what is applied so far, once the one before it is durable (a failed
   * one throws here); applying may go on while it syncs. At most one syncs at a time.
   */
  private async beginCheckpoint(): Promise<void> {
    await this.syncing;
    if (this.applied === this.durable && this.touched.size === 0) return;
    const paths = [...this.touched];
    this.touched.clear();
    this.opsSince = 0;
    this.bytesSince = 0;
    this.lastCheckpoint = Date.now();
    this.syncing = this.sync(paths, this.applied);
    this.syncing.catch(() => undefined); // surfaces where it is awaited
  }

  private async sync(paths: string[], seq: number): Promise<void> {
    try {
      await syncPaths(paths, this.confiner.base);
      if (seq !== this.counter.value) await this.counter.set(seq);
    } catch (err) {
      this.failedSeq = seq;
      throw err;
    }
    this.durable = seq;
    this.hooks.ack(seq);
  }
}
