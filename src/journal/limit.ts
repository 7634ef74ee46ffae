// The journal's size limit (`connect --queue-limit`): the bound, and what an append past it throws.
import { promises as fsp } from 'node:fs';
import { SmrError } from '../shared/errors.js';

/**
 * Thrown by an append while the un-acknowledged tail already holds `limit` bytes or more. The
 * check is made when the append is queued, against what is written and what is queued
 * (append-queue.ts pendingBytes), so the journal passes its limit by at most one record.
 */
export class QueueFullError extends SmrError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('io', `the queue holds ${bytes} bytes, at its limit of ${limit}`);
  }
}

/** A journal's bound on its un-acknowledged bytes (null: none). */
export class QueueLimit {
  private bytes: number | null = null;

  /** The bound in force (null: none). */
  get value(): number | null {
    return this.bytes;
  }

  /** Sets the bound (null: none). */
  set(bytes: number | null): void {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 1))
      throw new SmrError('usage', `a journal limit must be a positive integer, got ${bytes}`);
    this.bytes = bytes;
  }

  /** Throws QueueFullError when `unacked()` is at the bound (called only when there is one). */
  check(unacked: () => number): void {
    if (this.bytes === null) return;
    const held = unacked();
    if (held >= this.bytes) throw new QueueFullError(held, this.bytes);
  }
}

/** The default bound: 1 GiB, or a tenth of the space free where the journal lives, if smaller. */
export const DEFAULT_QUEUE_LIMIT = 1024 * 1024 * 1024;
/**
 * The least bound: a mirror keeps up to 16 MiB unacknowledged (MAX_QUEUED_BYTES) plus a file part,
 * and a bound below that would stop every mirror, the remirror that resumes the queue included.
 */
export const MIN_QUEUE_LIMIT = 32 * 1024 * 1024;

/** The bound for a journal in `dir`: `configured`, else the default for the space free there. */
export async function queueLimitFor(configured: number | null | undefined, dir: string) {
  if (configured) return Math.max(configured, MIN_QUEUE_LIMIT);
  const st = await fsp.statfs(dir).catch(() => null);
  const tenth = st ? Math.floor((st.bavail * st.bsize) / 10) : DEFAULT_QUEUE_LIMIT;
  return Math.max(MIN_QUEUE_LIMIT, Math.min(DEFAULT_QUEUE_LIMIT, tenth));
}
