// Crash mode on the target (docs/CONSISTENCY.md, "The target stages a group and applies it with a
// redo record"). Once a stream carries group markers (`mark` ops with a `group`), every op after
// one is staged durably in the replica's staging log instead of being applied; the next marker
// commits the group — log synced, then a redo record written atomically (the commit point) — and
// only then are its ops handed to the applier, which applies and checkpoints them as always. A
// kill -9 at any instant therefore restarts (group-recover.ts) by rolling the committed group
// forward from the log: the replica ends at a group boundary. Staged ops are acknowledged as soon
// as they are durable (a group may be larger than the source's window), but never past a group
// that is committed and not yet applied, so an ack of a marker means its group is on the replica.
import crypto from 'node:crypto';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { readJsonFile, writeJsonFile } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import type { IncomingOp } from './applier.js';
import { GroupLog } from './group-log.js';

/** What a replica's stage records about it (meta.json). */
export interface StageMeta {
  targetPath: string;
  /** The replica's directory and its applied-seq counter, for the recovery at daemon start. */
  base: string;
  counterFile: string;
  epoch: number;
  /** A group marker was seen: ops after the last one are staged. */
  active: boolean;
}

/** The committed group not yet known applied (redo.json). */
export interface Redo {
  group: number;
  lastSeq: number;
}

/** What a stage drives. */
export interface StageHooks {
  /** Hands an op of a committed group to the applier. */
  enqueue(op: IncomingOp): void;
  /** Body bytes waiting in the applier (feeding pauses above FEED_HIGH_BYTES). */
  waitingBytes(): number;
  /** Acknowledges everything up to `seq` to the source. */
  ack(seq: number): void;
  /** The stage could not write its log: nothing after the last ack is acknowledged. */
  failed(err: Error): void;
}

/** The applier's queue is fed a committed group while it holds less than this. */
const FEED_HIGH_BYTES = 8 * 1024 * 1024;
/** Staged ops are synced and acknowledged this soon after the last one arrived. */
const SYNC_AFTER_MS = 3;

/** A replica's staging directory in the target's state dir. */
export function stageDir(stateDir: string, targetPath: string): string {
  const h = crypto.createHash('sha256').update(targetPath).digest('hex').slice(0, 24);
  return path.join(stateDir, 'target-groups', h);
}

/** The group a `mark` op closes, or null for other ops. */
export function groupOf(op: IncomingOp): number | null {
  if (op.kind !== 'mark') return null;
  const g = op.meta.group;
  return typeof g === 'number' && Number.isSafeInteger(g) ? g : null;
}

/** One replica's staging of groups, for one session. */
export class GroupStage {
  private chain: Promise<void> = Promise.resolve();
  /** Marker seqs committed (or the boundary that activated the stage) and not yet applied. */
  private pending: number[] = [];
  private appended: number;
  private staged: number;
  private fed: number;
  private acked: number;
  private timer: NodeJS.Timeout | null = null;
  private broken = false;

  private constructor(
    private readonly dir: string,
    private meta: StageMeta,
    /** Null until the stage directory exists (the first group marker makes it). */
    private opened: GroupLog | null,
    private applied: number,
    private readonly hooks: StageHooks,
  ) {
    this.staged = this.appended = Math.max(applied, opened?.lastSeq ?? 0);
    this.fed = applied;
    this.acked = applied;
  }

  /**
   * Opens the stage of a replica whose applier has applied `applied`; a new `epoch` empties it.
   * A committed group not yet applied (a redo record) is handed to the applier at once. A replica
   * that never carried a group (file mode) has no stage directory, and none is made here: it is
   * made when the first group marker arrives, so a file-mode session does no stage I/O at all.
   */
  static async open(
    dir: string,
    meta: Omit<StageMeta, 'active'>,
    applied: number,
    hooks: StageHooks,
  ): Promise<GroupStage> {
    if (!(await fsp.stat(dir).catch(() => null)))
      return new GroupStage(dir, { ...meta, active: false }, null, applied, hooks);
    const was = await readJsonFile<StageMeta | null>(path.join(dir, 'meta.json'), null);
    const log = await GroupLog.open(path.join(dir, 'ops.log'));
    const same = was !== null && was.epoch === meta.epoch;
    if (!same) await log.clear();
    const full: StageMeta = { ...meta, active: same && was.active };
    await writeJsonFile(path.join(dir, 'meta.json'), full);
    const stage = new GroupStage(dir, full, log, applied, hooks);
    const redo = await readJsonFile<Redo | null>(path.join(dir, 'redo.json'), null);
    if (same && redo && redo.lastSeq > applied) stage.commit(redo.lastSeq, false);
    return stage;
  }

  /** Whether ops are staged (the stream has carried a group marker). */
  get active(): boolean {
    return this.meta.active;
  }

  /** Where the source resumes: everything up to here is applied or durably staged. */
  get resumeSeq(): number {
    return Math.max(this.applied, this.staged);
  }

  /** Takes an op; false when the applier is to apply it directly (no group marker seen yet). */
  accept(op: IncomingOp): boolean {
    if (this.broken) return true; // nothing more is acknowledged: the source resends it
    // Already staged (or, before any marker, applied: the applier skips it).
    if (op.seq <= this.appended) return this.meta.active;
    const group = groupOf(op);
    if (!this.meta.active) {
      if (group === null) return false;
      // The first boundary: what came before it is applied directly; what follows is staged.
      this.meta = { ...this.meta, active: true };
      this.appended = this.staged = this.fed = op.seq;
      this.pending.push(op.seq);
      this.run(() => this.activate());
      return false;
    }
    this.appended = op.seq;
    this.run(() => this.log.append(op));
    if (group !== null) this.commit(op.seq, true, group);
    else this.syncSoon();
    return true;
  }

  /** The applier made everything up to `seq` durable on the replica. */
  onApplied(seq: number): void {
    this.applied = Math.max(this.applied, seq);
    while (this.pending.length && (this.pending[0] as number) <= seq) {
      const done = this.pending.shift() as number;
      this.run(async () => {
        const redo = await readJsonFile<Redo | null>(path.join(this.dir, 'redo.json'), null);
        if (redo && redo.lastSeq <= done) await fsp.rm(path.join(this.dir, 'redo.json'));
        await this.log.dropThrough(done);
      });
    }
    this.ackNow();
  }

  /**
   * Resolves once every committed group is applied (a session ending — the source gone — must
   * not leave the replica between two groups), or the applier stopped (`stopped()`).
   */
  async drain(stopped: () => boolean): Promise<void> {
    await this.chain;
    while (this.pending.length && !stopped() && !this.broken)
      await new Promise((r) => setTimeout(r, 5));
  }

  /** Stops feeding and syncing; the log stays for the next session or the recovery. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.broken = true;
    await this.chain;
    await this.opened?.close();
  }

  /** The log (only used from the chain, after `activate` or `open` made it). */
  private get log(): GroupLog {
    if (!this.opened) throw new Error('group stage used before its first group marker');
    return this.opened;
  }

  /** The first group marker: the stage directory and its log are made, the stage recorded active. */
  private async activate(): Promise<void> {
    if (!this.opened) {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.opened = await GroupLog.open(path.join(this.dir, 'ops.log'));
    }
    await writeJsonFile(path.join(this.dir, 'meta.json'), this.meta);
  }

  /** Commits the group ending at marker `seq` (unless `write` is false: its redo is on disk). */
  private commit(seq: number, write: boolean, group?: number): void {
    this.pending.push(seq);
    this.run(async () => {
      if (write) {
        await this.log.sync();
        this.staged = Math.max(this.staged, seq);
        const redo: Redo = { group: group ?? 0, lastSeq: seq };
        await writeJsonFile(path.join(this.dir, 'redo.json'), redo); // the commit point
      }
      for await (const op of this.log.read(this.fed, seq)) {
        while (this.hooks.waitingBytes() > FEED_HIGH_BYTES && !this.broken)
          await new Promise((r) => setTimeout(r, 5));
        if (this.broken) return;
        this.hooks.enqueue(op);
        this.fed = op.seq;
      }
      this.fed = Math.max(this.fed, seq);
      this.ackNow();
    });
  }

  private syncSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const upTo = this.appended;
      this.run(async () => {
        await this.log.sync();
        this.staged = Math.max(this.staged, upTo);
        this.ackNow();
      });
    }, SYNC_AFTER_MS);
  }

  /** Acknowledges what is durable, but nothing past a committed group not yet applied. */
  private ackNow(): void {
    const cap = this.pending.length ? (this.pending[0] as number) - 1 : Number.MAX_SAFE_INTEGER;
    const seq = Math.max(this.applied, Math.min(this.staged, cap));
    if (seq <= this.acked) return;
    this.acked = seq;
    this.hooks.ack(seq);
  }

  private run(fn: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.broken) return;
      try {
        await fn();
      } catch (err) {
        this.broken = true;
        log.error(`group staging: ${(err as Error).message}`);
        this.hooks.failed(err as Error);
      }
    });
  }
}
