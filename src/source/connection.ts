// One connection at run time: journal, index, capture pipeline, watcher, link and mirror, and the
// switches the verbs turn (replicate, transmit, bandwidth).
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import type { PathIndex } from '../index/index.js';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { Journal, queueLimitFor } from '../journal/journal.js';
import { AckOrder } from './ack-order.js';
import { Capture } from './capture.js';
import { AckWaiter } from './ack-waiter.js';
import {
  connectionDir,
  newEpoch,
  saveConnection,
  type ConnectionConfig,
} from './connection-config.js';
import { linkHooks } from './connection-hooks.js';
import { makeFilter } from './filter.js';
import { openIndex, recoverIndex } from './index-open.js';
import { restartPassCovers, startAfterRestart } from './restart.js';
import { Link } from './link.js';
import { wireOptions } from './dial.js';
import { connectionStatus } from './connection-status.js';
import { waitFor } from './connection-wait.js';
import type { ConnectionStatus, TransmitState } from '../control/replies.js';
import { Mirror, type MirrorOptions } from './mirror.js';
import { PathHistory } from './need.js';
import { ConnectionWatch } from './watch-connection.js';
import type { AuditContext } from './audit.js';
import { ConnectionTasks } from './connection-tasks.js';
import { Restorer } from './restore.js';
import { AuditProgress } from './audit-progress.js';
import { startTimers } from './connection-timers.js';
import { QueueOverflow } from './queue-overflow.js';
import { SpaceReserve } from './space-reserve.js';
import type { QueuedOp } from './queued-op.js';
import { drained, waitParts } from './in-step.js';
import { CrashMode } from './consistency-mode.js';

/** Daemon-wide facts a connection needs. */
export interface SourceContext {
  stateDir: string;
  sourceId: string;
  defaultKeyFile: string;
  /** Programs `queue` and `transmit` tasks may run on the source. */
  tasksDir: string;
  /** `source start --insecure-no-tls`: every connection's link is plaintext. */
  insecureNoTls: boolean;
}

/** The contract's status object (defined with the control channel's replies). */
export type { ConnectionStatus };

export { RESCAN_INTERVAL_MS } from './connection-timers.js';

/** What a connection does once started: a new one's first mirror, or a restart's reconciliation. */
export type StartPlan = { mirror: MirrorOptions | null } | 'restart';

/** A live connection. */
export class Connection {
  journal!: Journal;
  index: PathIndex | null = null;
  capture!: Capture;
  link!: Link;
  mirror!: Mirror;
  history!: PathHistory;
  private acks: AckWaiter | null = null;
  private watch!: ConnectionWatch;
  /** `queue-task`, `tasks`, `task-wait` (connection-tasks.ts). */
  tasks!: ConnectionTasks;
  /** `smr restore`: the replica copied back (src/source/restore.ts). */
  restorer!: Restorer;
  private stopTimers: (() => void) | null = null;
  private stopping = false;
  /** Why the queue stopped taking changes (its limit, a full disk), and the way back. */
  overflow!: QueueOverflow;
  /** How far a running verify or orphans listing has got (status.audit). */
  private readonly auditProgress = new AuditProgress();
  /** `--consistency crash`: groups read from btrfs snapshots (null: file mode). */
  crash: CrashMode | null = null;

  constructor(
    public cfg: ConnectionConfig,
    readonly ctx: SourceContext,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  /** Opens queue and index, starts watching and sending, then runs what `plan` says. */
  async start(plan: StartPlan): Promise<void> {
    const dir = connectionDir(this.ctx.stateDir, this.cfg.name);
    this.journal = await Journal.open(path.join(dir, 'journal'));
    this.journal.limit.set(await queueLimitFor(this.cfg.queueLimit, dir));
    const index = await openIndex(dir);
    this.index = index;
    const recovered = await recoverIndex(index, this.journal, this.cfg.epoch);
    const filter = makeFilter(this.cfg.include, this.cfg.exclude);
    this.acks = new AckWaiter(this.journal);
    const ackOrder = new AckOrder(index, this.journal);
    this.history = new PathHistory(this.journal);
    const append = (e: QueuedOp) => this.overflow.append(e); // stops at the limit or a full disk
    this.crash = await CrashMode.open(this.cfg);
    const seen = this.crash?.index(index) ?? index;
    this.capture = new Capture(this.cfg.path, filter, seen, append, this.journal.lastSeq, {
      watchDir: (rel) => this.watch.watchDir(rel),
      failed: (e) => this.overflow.captureFailed(e),
      attrs: this.cfg, // --no-owner, --no-xattrs, --no-acls
    });
    this.capture.onEmitted((e, seq) => this.history.observe(e, seq));
    await this.crash?.start(this.capture);
    this.tasks = await ConnectionTasks.open(dir, {
      name: this.cfg.name,
      sourcePath: this.cfg.path,
      tasksDir: this.ctx.tasksDir,
      journal: this.journal,
      capture: this.capture,
      barrier: (inLine) => this.barrier(inLine),
    });
    const { name, path: base, watcher: backend = 'native' } = this.cfg;
    const capture = this.crash?.watched(this.capture) ?? this.capture;
    const mirrorActive = (): boolean => this.mirror.active;
    this.watch = new ConnectionWatch({ name, base, filter, backend, capture, mirrorActive });
    const hooks = linkHooks(this, { ack: (seq) => ackOrder.ack(seq), tasks: this.tasks });
    this.link = new Link(this.journal, hooks, this.cfg.transmit, this.cfg.bandwidth);
    this.mirror = new Mirror(base, filter, this.capture, this.link, this.journal, this.acks);
    this.overflow = new QueueOverflow(this, new SpaceReserve(dir));
    await this.overflow.keepReserve();
    this.restorer = new Restorer({
      name,
      base,
      filter,
      link: this.link,
      stopMirror: () => this.mirror.active && this.mirror.stop(),
      capture: this.capture,
      confirm: () => this.confirmRestore(),
    });
    this.stopTimers = startTimers(this);
    this.capture.enabled = this.cfg.replicate;
    // A vanished source path (a lost disk) keeps the link up, so `smr restore` can bring it back.
    if (this.cfg.replicate)
      await this.startWatching(plan === 'restart' && !this.crash).catch((err: Error) =>
        log.error(`${this.name}: ${err.message}; smr restore ${this.name} brings it back`),
      );
    this.link.start();
    if (plan !== 'restart') {
      if (plan.mirror) this.mirror.start(plan.mirror);
    } else startAfterRestart(this, recovered, this.watch, () => this.stopping);
  }

  private async startWatching(deferred = false): Promise<void> {
    try {
      await fsp.access(this.cfg.path);
    } catch {
      throw new SmrError(
        'config',
        `source path ${this.cfg.path} of connection ${this.name} does not exist`,
      );
    }
    this.capture.watchingSince = Date.now();
    await this.watch.start(deferred);
    this.crash?.watching();
  }

  /** Persists the connection's settings. */
  save(): Promise<void> {
    return saveConnection(this.ctx.stateDir, this.cfg);
  }

  /** The target cannot continue this stream: start a new epoch and remirror (diff). */
  async restartStream(): Promise<void> {
    const epoch = newEpoch();
    await this.capture.enqueueStep(async () => {
      await this.journal.reset(1);
      this.capture.restartStream(epoch);
    });
    this.cfg.epoch = epoch;
    this.cfg.remirrorRequired = true;
    await this.save();
    this.mirror.start({ mode: 'diff' });
  }

  /** `replicate on|off`. Off stops capturing and marks the target remirror-required. */
  async setReplicate(on: boolean): Promise<void> {
    if (on === this.cfg.replicate) return;
    this.cfg.replicate = on;
    if (!on) {
      this.cfg.remirrorRequired = true;
      this.capture.enabled = false;
      await this.watch.close();
      await this.save();
      return;
    }
    this.capture.enabled = true;
    await this.save();
    await this.startWatching();
    if (this.cfg.remirrorRequired && !this.mirror.active && !this.overflow.reason)
      this.mirror.start({ mode: 'diff' });
  }

  /** After a restore into the path: capture watches it again, and a diff mirror confirms. */
  private async confirmRestore(): Promise<void> {
    if (this.cfg.replicate && !this.watch.watching) await this.startWatching();
    this.mirror.start({ mode: 'diff' });
    await this.waitFor('mirrored', 24 * 3600_000);
  }

  /** `transmit start|stop|pause|resume`. */
  async setTransmit(t: TransmitState): Promise<void> {
    this.cfg.transmit = t;
    this.link.setTransmit(t);
    await this.save();
  }

  /** `limit --bandwidth`. */
  async setBandwidth(rate: number | null): Promise<void> {
    this.cfg.bandwidth = rate;
    this.link.setBandwidth(rate);
    await this.save();
  }

  /** Starts a mirror (`mirror start`, and `connect`). */
  startMirror(opts: MirrorOptions): void {
    this.mirror.start(opts);
  }

  get mirrorControl(): Mirror {
    return this.mirror;
  }

  /**
   * Every change made before this call is queued (a reconciliation, or the restart's: restart.ts);
   * then `inLine` runs as a pipeline step (crash mode: just before the group's boundary marker).
   */
  async barrier(inLine?: () => Promise<void>): Promise<void> {
    if (this.crash && this.capture.enabled) return this.crash.barrier(inLine);
    if (this.capture.enabled && !(await restartPassCovers(this.watch, this.capture.reconciler)))
      await this.capture.rescan();
    if (inLine) await this.capture.enqueueStep(inLine);
  }

  /** `wait --for synced|mirrored`: resolves when the target holds everything captured before the call. */
  waitFor(what: 'synced' | 'mirrored', timeoutMs: number): Promise<void> {
    return waitFor(waitParts(this), what, timeoutMs);
  }

  /** What verify and orphans work with. */
  audit(): AuditContext {
    return {
      name: this.name,
      base: this.cfg.path,
      filter: makeFilter(this.cfg.include, this.cfg.exclude),
      link: this.link,
      capture: this.capture,
      mirrorActive: () => this.mirror.active,
      drained: (ms) => drained(this, ms),
      progress: this.auditProgress,
    };
  }

  /** The contract's status of this connection. */
  status(): ConnectionStatus {
    const restore = this.restorer.progress;
    return connectionStatus({
      restore: restore.state === 'idle' ? undefined : restore,
      cfg: this.cfg,
      link: this.link,
      journal: this.journal,
      mirror: this.mirror.progress,
      tasksPending: this.tasks.pending,
      transport: wireOptions(this.cfg, this.ctx),
      overflow: this.overflow,
      held: this.capture.reconciler.held,
      reconciling: this.capture.reconciler.reconciling(this.journal.ackedSeq),
      watcher: this.watch.status(),
      audit: this.auditProgress.view(),
      skipped: this.capture.skipped.status(),
      groups: this.crash?.status(this.journal.ackedSeq),
    });
  }

  /** Stops everything, finishing the operation in hand; the queue and the index stay on disk. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopTimers?.();
    this.crash?.stop();
    this.overflow?.close();
    this.mirror?.stop();
    await this.watch?.stop();
    this.capture?.stop();
    this.acks?.close(); // a mirror step waiting for an ack must not hold the stop up
    await this.capture?.idle().catch(() => undefined);
    await this.link?.stop();
    await this.journal?.close();
    this.index?.close();
  }
}
