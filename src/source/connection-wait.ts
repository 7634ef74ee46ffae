// `wait --for synced|mirrored`: until the target holds everything captured before the call, and
// nothing is left to reconcile. What smr cannot promise without the operator is said (exit 2),
// never waited out or answered with a yes.
import { SmrError } from '../shared/errors.js';
import type { Journal } from '../journal/journal.js';
import type { Link } from './link.js';
import type { Mirror } from './mirror.js';

/** What the wait watches. */
export interface WaitParts {
  name: string;
  journal: Pick<Journal, 'lastSeq' | 'ackedSeq'>;
  mirror: Pick<Mirror, 'active' | 'progress'>;
  link: Pick<Link, 'state' | 'lastError'>;
  /** Why the target cannot get in step without the operator (replication off, ...), or null. */
  refusal(): string | null;
  /** What is still to do beside the queue (a reconciliation, dirty paths), or null. */
  pending(): string | null;
  /** Whether a mirror ever completed (a restart forgets the last mirror's own state). */
  baseline(): boolean;
  /** Why the queue stopped (a limit, a full disk): not synced until the remirror after it ends. */
  overflow: { reason: string | null };
  /** Every change made before the call is in the queue. */
  barrier(): Promise<void>;
}

function refuse(w: WaitParts): void {
  const why = w.refusal();
  if (why) throw new SmrError('usage', `${w.name}: ${why}`);
}

/** Whether the last mirror completed; throws when none runs and none completed. */
function mirrored(w: WaitParts): boolean {
  if (w.mirror.active || w.pending()) return false;
  const p = w.mirror.progress;
  if (p.state === 'complete' && p.orphansHeld)
    // The mirror was asked to delete orphans and the brake refused: not done as asked.
    throw new SmrError(
      'usage',
      `${w.name}: orphans not deleted: ${p.orphansHeld}`,
      `check the source path and the exclude rules (smr orphans ${w.name}); then smr mirror start ${w.name} --delete-orphans --force`,
    );
  if (p.state === 'complete' || (p.state === 'idle' && w.baseline())) return true;
  const last =
    p.state === 'stopped'
      ? `the last one ${p.error ? `failed: ${p.error}` : 'was stopped'}`
      : 'it was never mirrored';
  throw new SmrError(
    'usage',
    `no mirror of ${w.name} is running (${last})`,
    `start one: smr mirror start ${w.name}`,
  );
}

/** Resolves once the target holds everything captured before the call (and no mirror runs). */
export async function waitFor(
  w: WaitParts,
  what: 'synced' | 'mirrored',
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  // A mirror-only connection (`--no-replicate`) is mirrored all the same: the refusals are synced's.
  const synced = what === 'synced';
  // The barrier's reconciliation first: it judges deletions held by the brake afresh (a hold
  // from an earlier pass may no longer stand), then the refusals are those of the present.
  if (synced) await w.barrier();
  const seq = w.journal.lastSeq;
  for (;;) {
    if (synced) refuse(w);
    const done =
      !w.overflow.reason &&
      (what === 'mirrored'
        ? mirrored(w)
        : !w.mirror.active && w.pending() === null && w.journal.ackedSeq >= seq);
    if (done) return;
    if (Date.now() >= end) {
      const more = w.pending();
      const where = `acked ${w.journal.ackedSeq} of ${seq}, mirror ${w.mirror.progress.state}${more ? `, ${more}` : ''}, link ${w.link.state}`;
      const err = w.overflow.reason ?? w.link.lastError;
      const why = err ? `: ${err}` : '';
      throw new SmrError(
        'timeout',
        `${w.name} not ${what} after ${Math.round(timeoutMs / 1000)}s (${where}${why})`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, end - Date.now()))));
  }
}
