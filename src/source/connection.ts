// One connection at run time: journal, capture pipeline, watcher, link and mirror, and the
// switches the verbs turn (replicate, transmit, bandwidth).
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { readKeyFile } from '../shared/key.js';
import { Journal } from '../journal/journal.js';
import { Capture } from './capture.js';
import {
  connectionDir,
  newEpoch,
  saveConnection,
  type ConnectionConfig,
} from './connection-config.js';
import { makeFilter } from './filter.js';
import { Link, type TransmitState } from './link.js';
import { Mirror, type MirrorOptions } from './mirror.js';
import { startWatcher, type Watcher } from './watcher.js';
import type { AuditContext } from './audit.js';
import { RESTART_MIRROR } from './restart-mirror.js';
import { newTaskId, TaskTable, type TaskEntry } from './task-table.js';
import { resolveTaskProgram, runTask, validateTaskCommand } from '../tasks/index.js';
import type { JournalRecord } from '../journal/journal.js';

/** Daemon-wide facts a connection needs. */
export interface SourceContext {
  stateDir: string;
  sourceId: string;
  defaultKeyFile: string;
  /** Programs `queue` and `transmit` tasks may run on the source. */
  tasksDir: string;
}

/** The contract's `status` object for one connection. */
export interface ConnectionStatus {
  name: string;
  target: string;
  path: string;
  targetPath: string;
  link: string;
  replication: 'on' | 'off';
  transmit: TransmitState;
  targetState: 'ok' | 'remirror-required' | 'paused' | 'error';
  mirror: Omit<Mirror['progress'], 'orphans' | 'error'> & { orphans?: number; error?: string };
  queue: { ops: number; bytes: number };
  lastCapturedSeq: number;
  lastAckedSeq: number;
  sent: { bytes: number; wireBytes: number };
  tasks: { pending: number };
  lastError: string | null;
}

/** A live connection. */
export class Connection {
  private journal!: Journal;
  private capture!: Capture;
  private link!: Link;
  private mirror!: Mirror;
  private watcher: Watcher | null = null;
  private tasks!: TaskTable;
  private ackPoll: NodeJS.Timeout | null = null;

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
    this.tasks = await TaskTable.open(dir);
    const filter = makeFilter(this.cfg.include, this.cfg.exclude);
    this.capture = new Capture(this.cfg.path, filter, (e) => this.journal.append(e));
    this.capture.onError = (err) => log.error(`${this.name}: capture: ${err.message}`);
    this.link = new Link(
      this.journal,
      {
        open: () => ({
          to: this.cfg.to,
          connection: this.cfg.name,
          targetPath: this.cfg.targetPath,
          epoch: this.cfg.epoch,
          sourceId: this.ctx.sourceId,
        }),
        key: () => this.loadKey(),
        need: (p) => this.capture.hint(p, true),
        event: (h) => this.onTargetEvent(h),
        beforeSend: (rec) => this.beforeSendTask(rec),
        sent: (rec) => void this.tasks.update(String(rec.meta.id), { state: 'sent' }),
        mismatch: () => this.restartStream(),
      },
      this.cfg.transmit,
      this.cfg.bandwidth,
    );
    this.mirror = new Mirror(this.cfg.path, filter, this.capture, this.link, this.journal);
    // Acks arrive in the link; progress and remirror bookkeeping follow them here.
    let lastAcked = this.journal.ackedSeq;
    this.ackPoll = setInterval(() => {
      if (this.journal.ackedSeq === lastAcked && !this.mirror.active) return;
      lastAcked = this.journal.ackedSeq;
      this.mirror.onAck();
      if (
        this.cfg.remirrorRequired &&
        this.mirror.progress.state === 'complete' &&
        this.cfg.replicate
      ) {
        this.cfg.remirrorRequired = false;
        void this.save();
      }
    }, 50);
    this.capture.enabled = this.cfg.replicate;
    if (this.cfg.replicate) await this.startWatching();
    this.link.start();
    if (mirror) this.mirror.start(mirror);
  }

  private async loadKey(): Promise<Buffer | null> {
    if (this.cfg.keyFile) return readKeyFile(this.cfg.keyFile);
    try {
      await fsp.access(this.ctx.defaultKeyFile);
    } catch {
      return null;
    }
    return readKeyFile(this.ctx.defaultKeyFile);
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
    this.watcher = await startWatcher(
      this.cfg.path,
      makeFilter(this.cfg.include, this.cfg.exclude),
      (rel) => this.capture.hint(rel),
    );
  }

  private save(): Promise<void> {
    return saveConnection(this.ctx.stateDir, this.cfg);
  }

  /** The target cannot continue this stream: start a new epoch and remirror (diff). */
  private async restartStream(): Promise<void> {
    await this.capture.enqueueStep(async () => {
      await this.journal.reset(1);
      this.capture.known.clear();
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
    if (this.cfg.remirrorRequired && !this.mirror.active) this.mirror.start({ mode: 'diff' });
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
  async waitFor(what: 'synced' | 'mirrored', timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    if (what === 'synced') await this.barrier();
    const seq = this.journal.lastSeq;
    for (;;) {
      const done = !this.mirror.active && (what === 'mirrored' || this.journal.ackedSeq >= seq);
      if (done) return;
      if (Date.now() >= end) {
        const where = `acked ${this.journal.ackedSeq} of ${seq}, mirror ${this.mirror.progress.state}, link ${this.link.state}`;
        throw new SmrError(
          'timeout',
          `${this.name} not ${what} after ${Math.round(timeoutMs / 1000)}s (${where}${this.link.lastError ? `: ${this.link.lastError}` : ''})`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, end - Date.now()))));
    }
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

  /** `queue-task`: barrier, then the task marker in line with the data (or a run here). */
  async queueTask(req: {
    on: TaskEntry['on'];
    command: string;
    args: string[];
    timeoutMs: number;
  }): Promise<TaskEntry> {
    const entry: TaskEntry = {
      id: newTaskId(),
      on: req.on,
      command: req.command,
      args: req.args,
      timeoutMs: req.timeoutMs,
      seq: null,
      state: 'queued',
      exitCode: null,
      queuedAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      durationMs: null,
      outputTail: [],
    };
    try {
      validateTaskCommand(req.command);
    } catch (err) {
      // Recorded, not thrown: a rejected task is a task result (exit 5 with --wait).
      await this.tasks.add({
        ...entry,
        state: 'rejected',
        endedAt: entry.queuedAt,
        message: (err as Error).message,
      });
      return this.tasks.get(entry.id) as TaskEntry;
    }
    await this.barrier();
    if (req.on === 'queue') {
      await this.capture.enqueueStep(async () => {
        await this.tasks.add(entry);
      });
      void this.runLocalTask(entry.id);
      return entry;
    }
    await this.capture.enqueueStep(async () => {
      // Recorded before the marker is queued: the target's report may come back before append returns.
      await this.tasks.add(entry);
      const rec = await this.journal.append({
        kind: 'task',
        meta: {
          id: entry.id,
          on: req.on,
          command: req.command,
          args: req.args,
          timeoutMs: req.timeoutMs,
        },
      });
      entry.seq = rec.seq;
      await this.tasks.setSeq(entry.id, rec.seq);
    });
    log.info(
      `${this.name}: task ${entry.id} (${req.command}, on ${req.on}) queued at seq ${entry.seq}`,
    );
    return entry;
  }

  /** `tasks`: this connection's tasks, oldest first. */
  listTasks(): TaskEntry[] {
    return this.tasks.list();
  }

  /** Waits for a task's end (`queue-task --wait`). */
  waitTask(id: string, timeoutMs: number): Promise<TaskEntry> {
    return this.tasks.waitFinal(id, timeoutMs);
  }

  private onTargetEvent(h: Record<string, unknown>): void {
    if (h.type !== 'task' || typeof h.id !== 'string') return;
    const { id, state, exitCode, startedAt, endedAt, durationMs, outputTail, message } =
      h as unknown as TaskEntry;
    void this.tasks.update(id, {
      state,
      exitCode,
      startedAt,
      endedAt,
      durationMs,
      outputTail,
      message,
    });
  }

  private async beforeSendTask(rec: JournalRecord): Promise<void> {
    const t = this.tasks.get(String(rec.meta.id));
    if (t && t.on === 'transmit' && t.state === 'queued') await this.runLocalTask(t.id);
  }

  /** Runs a `queue` or `transmit` task on the source, from the source's tasks dir. */
  private async runLocalTask(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t) return;
    let program: string;
    try {
      program = await resolveTaskProgram(this.ctx.tasksDir, t.command);
    } catch (err) {
      await this.tasks.update(id, {
        state: 'rejected',
        endedAt: new Date().toISOString(),
        message: (err as Error).message,
      });
      return;
    }
    const startedAt = new Date().toISOString();
    await this.tasks.update(id, { state: 'running', startedAt });
    const res = await runTask({
      program,
      args: t.args,
      cwd: this.cfg.path,
      timeoutMs: t.timeoutMs,
      env: {
        SMR_CONNECTION: this.name,
        SMR_TASK_ID: id,
        SMR_SEQ: String(t.seq ?? this.journal.lastSeq),
        SMR_SOURCE_PATH: this.cfg.path,
      },
    });
    await this.tasks.update(id, {
      state: res.state,
      exitCode: res.exitCode,
      endedAt: new Date().toISOString(),
      durationMs: Math.round(res.durationMs),
      outputTail: res.outputTail,
      message: res.error,
    });
    log.info(`${this.name}: source task ${id} (${t.command}) ${res.state}`);
  }

  status(): ConnectionStatus {
    const m = this.mirror.progress;
    const targetState = this.cfg.remirrorRequired
      ? 'remirror-required'
      : this.cfg.transmit === 'paused'
        ? 'paused'
        : this.link.state !== 'connected' && this.link.lastError
          ? 'error'
          : 'ok';
    return {
      name: this.cfg.name,
      target: this.cfg.to,
      path: this.cfg.path,
      targetPath: this.cfg.targetPath,
      link: this.link.state,
      replication: this.cfg.replicate ? 'on' : 'off',
      transmit: this.cfg.transmit,
      targetState,
      mirror: { ...m },
      queue: this.journal.stats(),
      lastCapturedSeq: this.journal.lastSeq,
      lastAckedSeq: this.journal.ackedSeq,
      sent: { bytes: this.link.sentBytes, wireBytes: this.link.wireBytes },
      tasks: { pending: this.tasks.pending },
      lastError: this.link.lastError,
    };
  }

  /** Stops everything, finishing the operation in hand; the queue stays on disk. */
  async stop(): Promise<void> {
    if (this.ackPoll) clearInterval(this.ackPoll);
    this.mirror?.stop();
    await this.watcher?.close();
    this.capture?.stop();
    await this.capture?.idle().catch(() => undefined);
    await this.link?.stop();
    await this.journal?.close();
  }
}
