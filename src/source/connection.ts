// One connection at run time: journal, capture pipeline, watcher, link and mirror, and the
// switches the verbs turn (replicate, transmit, bandwidth).
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { Journal, queueLimitFor } from '../journal/journal.js';
import { Capture } from './capture.js';
import { AckWaiter } from './ack-waiter.js';
import {
  connectionDir,
  connectionKey,
  newEpoch,
  saveConnection,
  type ConnectionConfig,
} from './connection-config.js';
import { makeFilter } from './filter.js';
import { Link, type LinkHooks } from './link.js';
import { wireOptions } from './dial.js';
import { connectionStatus } from './connection-status.js';
import { waitFor } from './connection-wait.js';
import type { ConnectionStatus, TransmitState } from '../control/replies.js';
import { Mirror, type MirrorOptions } from './mirror.js';
import { startWatcher, type Watcher } from './watcher.js';
import type { AuditContext } from './audit.js';
import { RESTART_MIRROR } from './restart-mirror.js';
import type { TaskEntry } from './task-table.js';
import { ConnectionTasks } from './connection-tasks.js';
import { QueueOverflow } from './queue-overflow.js';
import type { QueuedOp } from './queued-op.js';

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

/** How often the whole tree is compared with the known state, whatever the watcher reported. */
export const RESCAN_INTERVAL_MS = 10 * 60_000;

/** A live connection. */
export class Connection {
  private journal!: Journal;
  private capture!: Capture;
  private acks: AckWaiter | null = null;
  private link!: Link;
  private mirror!: Mirror;
  private watcher: Watcher | null = null;
  private tasks!: ConnectionTasks;
  private overflow!: QueueOverflow;
  private ackPoll: NodeJS.Timeout | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;

  constructor(
    public cfg: ConnectionConfig,
    private readonly ctx: SourceContext,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  /** Opens the queue, starts watching and sending; starts a mirror when `mirror` is given. */
  async start(mirror: MirrorOptions | null): Promise<void> {
    const dir = connectionDir(this.ctx.stateDir, this.cfg.name);
    this.journal = await Journal.open(path.join(dir, 'journal'));
    this.journal.limit.set(await queueLimitFor(this.cfg.queueLimit, dir));
    const filter = makeFilter(this.cfg.include, this.cfg.exclude);
    this.acks = new AckWaiter(this.journal);
    const append = (e: QueuedOp) => this.overflow.append(e); // stops at the limit or a full disk
    this.capture = new Capture(this.cfg.path, filter, append, {
      watchDir: (rel) => this.watcher?.watchDir(rel),
      failed: (e) => QueueOverflow.isStop(e) || log.error(`${this.name}: capture: ${e.message}`),
    });
    this.tasks = await ConnectionTasks.open(dir, {
      name: this.cfg.name,
      sourcePath: this.cfg.path,
      tasksDir: this.ctx.tasksDir,
      journal: this.journal,
      capture: this.capture,
      barrier: () => this.barrier(),
    });
    this.link = new Link(this.journal, this.linkHooks(), this.cfg.transmit, this.cfg.bandwidth);
    this.mirror = new Mirror(
      this.cfg.path,
      filter,
      this.capture,
      this.link,
      this.journal,
      this.acks,
    );
    const { journal, link, capture, cfg } = this;
    const save = () => this.save();
    this.overflow = new QueueOverflow({ journal, link, capture, mirror: this.mirror, cfg, save });
    // Acks arrive in the link; progress and remirror bookkeeping follow them here.
    let lastAcked = this.journal.ackedSeq;
    this.ackPoll = setInterval(() => {
      if (this.journal.ackedSeq === lastAcked && !this.mirror.active) return;
      lastAcked = this.journal.ackedSeq;
      this.mirror.onAck();
      const { cfg, mirror, overflow } = this;
      if (cfg.remirrorRequired && mirror.progress.state === 'complete' && cfg.replicate) {
        if (overflow.reason) return; // the remirror that clears it comes once the queue resumes
        this.cfg.remirrorRequired = false;
        this.save().catch((err: Error) =>
          log.error(`${this.name}: cannot save state: ${err.message}`),
        );
      }
    }, 50);
    // A safety net under the watcher, as Syncthing's periodic scan is: file system events can be
    // lost (a watch set up just after a file appeared, an inotify queue overflow), and a rescan
    // compares the whole tree with the known state. Cheap when nothing was missed: an lstat each.
    this.rescanTimer = setInterval(() => {
      if (!this.capture.enabled || this.mirror.active) return;
      this.capture.rescan().catch((err: Error) => log.warn(`${this.name}: rescan: ${err.message}`));
    }, RESCAN_INTERVAL_MS);
    this.rescanTimer.unref();
    this.capture.enabled = this.cfg.replicate;
    if (this.cfg.replicate) await this.startWatching();
    this.link.start();
    if (mirror) this.mirror.start(mirror);
  }

  /** What the link asks of this connection. */
  private linkHooks(): LinkHooks {
    return {
      open: () => ({
        to: this.cfg.to,
        connection: this.cfg.name,
        targetPath: this.cfg.targetPath,
        epoch: this.cfg.epoch,
        sourceId: this.ctx.sourceId,
        wire: wireOptions(this.cfg, this.ctx),
      }),
      key: () => connectionKey(this.cfg, this.ctx.defaultKeyFile),
      // The target had no valid basis: resend in line, and a running mirror is not complete
      // before the resend is (the NEED comes just ahead of the ack that would complete it).
      need: (p) => {
        const done = this.mirror.holdForResend();
        this.capture.detach(() => this.capture.resend(p).finally(done));
      },
      event: (h) => this.tasks.onTargetEvent(h),
      beforeSend: (rec) => this.tasks.beforeSend(rec),
      sent: (rec) => this.tasks.sent(rec),
      mismatch: () => this.restartStream(),
    };
  }

  private async startWatching(): Promise<void> {
    try {
      await fsp.access(this.cfg.path);
    } catch {
      throw new SmrError(
        'config',
        `source path ${this.cfg.path} of connection ${this.name} does not exist`,
      );
    }
    this.capture.watchingSince = Date.now();
    this.watcher = await startWatcher(
      this.cfg.path,
      makeFilter(this.cfg.include, this.cfg.exclude),
      (rel) => {
        if (this.capture.enabled) this.capture.hint(rel);
      },
    );
  }

  private save(): Promise<void> {
    return saveConnection(this.ctx.stateDir, this.cfg);
  }

  /** The target cannot continue this stream: start a new epoch and remirror (diff). */
  private async restartStream(): Promise<void> {
    await this.capture.enqueueStep(async () => {
      await this.journal.reset(1);
      this.capture.forgetStream();
    });
    this.cfg.epoch = newEpoch();
    this.cfg.remirrorRequired = true;
    await this.save();
    this.mirror.start(RESTART_MIRROR);
  }

  /** `replicate on|off`. Off stops capturing and marks the target remirror-required. */
  async setReplicate(on: boolean): Promise<void> {
    if (on === this.cfg.replicate) return;
    this.cfg.replicate = on;
    if (!on) {
      this.cfg.remirrorRequired = true;
      this.capture.enabled = false;
      await this.watcher?.close();
      this.watcher = null;
      await this.save();
      return;
    }
    this.capture.enabled = true;
    await this.save();
    await this.startWatching();
    if (this.cfg.remirrorRequired && !this.mirror.active && !this.overflow.reason)
      this.mirror.start({ mode: 'diff' });
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

  /** Every change made before this call is in the queue (rescan, then pending deletes settled). */
  async barrier(): Promise<void> {
    if (!this.capture.enabled) return;
    await this.capture.rescan();
    await this.capture.flushGone();
  }

  /** `wait --for synced|mirrored`: resolves when the target holds everything captured before the call. */
  waitFor(what: 'synced' | 'mirrored', timeoutMs: number): Promise<void> {
    const { name, journal, mirror, link, overflow } = this;
    const parts = { name, journal, mirror, link, overflow, barrier: () => this.barrier() };
    return waitFor(parts, what, timeoutMs);
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
      synced: (ms) => this.waitFor('synced', ms),
    };
  }

  /** `queue-task`: see ConnectionTasks. */
  queueTask(req: Parameters<ConnectionTasks['queueTask']>[0]): Promise<TaskEntry> {
    return this.tasks.queueTask(req);
  }

  listTasks(): TaskEntry[] {
    return this.tasks.listTasks();
  }

  waitTask(id: string, timeoutMs: number): Promise<TaskEntry> {
    return this.tasks.waitTask(id, timeoutMs);
  }

  /** The contract's status of this connection. */
  status(): ConnectionStatus {
    return connectionStatus({
      cfg: this.cfg,
      link: this.link,
      journal: this.journal,
      mirror: this.mirror.progress,
      tasksPending: this.tasks.pending,
      transport: wireOptions(this.cfg, this.ctx),
      overflow: this.overflow,
    });
  }

  /** Stops everything, finishing the operation in hand; the queue stays on disk. */
  async stop(): Promise<void> {
    if (this.ackPoll) clearInterval(this.ackPoll);
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.overflow?.close();
    this.mirror?.stop();
    await this.watcher?.close();
    this.capture?.stop();
    this.acks?.close(); // a mirror step waiting for an ack must not hold the stop up
    await this.capture?.idle().catch(() => undefined);
    await this.link?.stop();
    await this.journal?.close();
  }
}
