// When the queue cannot take more (its limit reached, or its disk full): stop queueing, mark the
// target remirror-required, say why in status, and once the link is back and what was queued has
// been acknowledged, remirror by itself — Double-Take's auto-remirror, DRBD's resync after its
// bitmap took over. Nothing is lost silently: the paths that changed meanwhile are found again by
// that diff mirror (against the index, deletions included), and `wait` cannot say synced before it ends.
import { SmrError } from '../shared/errors.js';
import { formatBytes } from '../shared/units.js';
import { log } from '../shared/log.js';
import { QueueFullError, type Journal } from '../journal/journal.js';
import type { JournalRecord } from '../journal/types.js';
import type { ConnectionConfig } from './connection-config.js';
import type { Capture } from './capture.js';
import type { Mirror } from './mirror.js';
import type { QueuedOp } from './queued-op.js';
import type { SpaceReserve } from './space-reserve.js';

/** How often a stopped queue checks whether it can resume. */
const RETRY_MS = 1000;

/** What the overflow acts on. */
export interface OverflowParts {
  journal: Pick<Journal, 'ackedSeq' | 'lastSeq' | 'failed' | 'reset' | 'append'>;
  link: { readonly state: string };
  /** Capture: off while stopped (watcher hints dropped), on again where replication is on. */
  capture: Pick<Capture, 'enabled'>;
  mirror: Pick<Mirror, 'start' | 'stop'>;
  cfg: Pick<ConnectionConfig, 'name' | 'replicate' | 'remirrorRequired'>;
  /** Records the connection's settings (remirror-required) durably, if the disk lets it. */
  save(): Promise<void>;
}

/** An append refused because the queue stopped (not a new failure: not logged again). */
export class QueueStoppedError extends SmrError {
  constructor(reason: string) {
    super('io', reason);
  }
}

/** The state of one connection's queue: taking appends, or stopped until it can remirror. */
export class QueueOverflow {
  /** Why the queue stopped (status shows it as lastError), or null while it takes appends. */
  reason: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private resuming = false;

  constructor(
    private readonly h: OverflowParts,
    /** Blocks kept in the state dir, given back when it fills so acks can still be recorded. */
    private readonly reserve: Pick<SpaceReserve, 'take' | 'release'>,
  ) {}

  /** Takes the state dir's reserve (at start, and again once a reset journal freed its space). */
  keepReserve(): Promise<void> {
    return this.reserve.take(this.h.cfg.name);
  }

  /** True for an append refused because the queue is stopped (already logged once). */
  static isStop(err: unknown): boolean {
    return err instanceof QueueStoppedError;
  }

  /** Appends to the journal: refused while stopped; a full queue or disk stops the queue. */
  async append(e: QueuedOp): Promise<JournalRecord> {
    if (this.reason) throw new QueueStoppedError(this.reason);
    try {
      return await this.h.journal.append(e);
    } catch (err) {
      if (err instanceof QueueFullError || this.h.journal.failed) this.stop(err as Error);
      throw err;
    }
  }

  /**
   * A capture step failed: a refusal of a stopped queue is already said; a full disk under the
   * index (it shares the state dir with the journal) stops the queue as a full journal does;
   * anything else is logged and capture goes on.
   */
  captureFailed(err: Error): void {
    if (QueueOverflow.isStop(err)) return;
    if (/ENOSPC|EDQUOT|no space left|quota/i.test(err.message)) return this.stop(err);
    log.error(`${this.h.cfg.name}: capture: ${err.message}`);
  }

  /** Stops queueing: capture off, mirror stopped, target marked remirror-required, logged once. */
  stop(err: Error): void {
    if (this.reason) return;
    const { cfg, capture, mirror } = this.h;
    this.reason = describe(cfg.name, err);
    log.error(`${cfg.name}: ${this.reason}`);
    capture.enabled = false;
    mirror.stop();
    cfg.remirrorRequired = true;
    // A full disk: its reserve goes first, so the record below, the index's record of the acks
    // and the journal's ack cursor have room until the drained journal is reset.
    const room = err instanceof QueueFullError ? Promise.resolve(false) : this.reserve.release();
    room
      .then(() => this.h.save())
      .catch((e: Error) => log.warn(`${cfg.name}: cannot record remirror-required: ${e.message}`));
    this.timer = setInterval(() => void this.tryResume(), RETRY_MS);
    this.timer.unref();
  }

  /**
   * Resumes once the target has acknowledged everything queued: a failed journal is reset (its
   * files go, freeing their space; seqs go on where they were, so the target's applied seq still
   * fits), capture comes back on, and a diff mirror brings the target in line.
   */
  async tryResume(): Promise<boolean> {
    const { journal, cfg } = this.h;
    if (!this.reason || this.resuming) return false;
    if (this.h.link.state !== 'connected' || journal.ackedSeq < journal.lastSeq) return false;
    this.resuming = true;
    try {
      if (journal.failed) await journal.reset(journal.lastSeq + 1);
      await this.keepReserve(); // the reset gave the journal's space back
      log.info(`${cfg.name}: the queue takes changes again; remirroring (diff) what changed`);
      this.close();
      this.h.capture.enabled = cfg.replicate;
      // With replication off, `replicate on` starts the remirror (the target stays required).
      // The index still holds what the target was sent (ops refused at the limit left their marks
      // unsure): a diff mirror compares the tree with it, deletions since included (the brake too).
      if (cfg.replicate) this.h.mirror.start({ mode: 'diff' });
      return true;
    } catch (err) {
      log.warn(`${cfg.name}: cannot resume the queue yet: ${(err as Error).message}`);
      return false;
    } finally {
      this.resuming = false;
    }
  }

  /** Stops retrying (the connection stops). */
  close(): void {
    this.reason = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** What status and the log say about a stop: what happened, and what smr and the operator do. */
function describe(name: string, err: Error): string {
  const after =
    'capture stopped and the target needs a remirror; smr remirrors (diff) by itself once the link is back and the queue has drained';
  if (err instanceof QueueFullError)
    return `the queue of ${name} reached its limit (${formatBytes(err.limit)}: connect --queue-limit) while the target is away or slow: ${after}`;
  // A short write to a regular file is the disk filling up between two writes.
  const errno = /\b(ENOSPC|EDQUOT|EROFS|EIO|short write)\b/.exec(err.message)?.[1];
  const what =
    errno === 'ENOSPC' || errno === 'EDQUOT' || errno === 'short write'
      ? 'no space left for the queue'
      : `cannot write the queue (${err.message})`;
  return `source: ${what} of ${name}: free space in the state dir; ${after}`;
}
