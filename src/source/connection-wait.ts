// `wait --for synced|mirrored`: until the target holds everything captured before the call.
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
  /** Why the queue stopped (a limit, a full disk): not synced until the remirror after it ends. */
  overflow: { reason: string | null };
  /** Every change made before the call is in the queue. */
  barrier(): Promise<void>;
}

/** Resolves once the target holds everything captured before the call (and no mirror runs). */
export async function waitFor(
  w: WaitParts,
  what: 'synced' | 'mirrored',
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  if (what === 'synced') await w.barrier();
  const seq = w.journal.lastSeq;
  for (;;) {
    const done =
      !w.overflow.reason && !w.mirror.active && (what === 'mirrored' || w.journal.ackedSeq >= seq);
    if (done) return;
    if (Date.now() >= end) {
      const where = `acked ${w.journal.ackedSeq} of ${seq}, mirror ${w.mirror.progress.state}, link ${w.link.state}`;
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
