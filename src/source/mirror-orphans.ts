// The end of a mirror's scan: what is left of the target's listing is not in the source set.
// Paths the index holds are smr's own (their deletion was queued by the reconciliation before the
// listing, or is held by the brake); the others are orphans, deleted only when asked, through the
// one brake (brake.ts).
import { log } from '../shared/log.js';
import { deletionBrake } from './brake.js';
import type { Capture } from './capture.js';
import type { PathFilter } from './filter.js';
import type { MirrorOptions } from './mirror-plan.js';
import type { MirrorProgress } from './mirror-progress.js';
import type { TargetView } from './target-view.js';

/** Deletes the orphans once called (with whether the run still wants it); resolves with how many went. */
export type OrphanDeletion = (stillWanted: () => boolean) => Promise<number>;

/**
 * Counts the orphans into `n.progress`; returns their deletion when the mirror was asked for it
 * and the brake lets it through (else null, the reason in `progress.error`).
 */
export function orphanStep(
  capture: Capture,
  filter: PathFilter,
  opts: MirrorOptions,
  view: TargetView,
  n: { targetEntries: number; sourceEntries: number; base: string; progress: MirrorProgress },
): OrphanDeletion | null {
  // Known paths leave the listing; the rest are counted, never held (the listing is on disk).
  let count = 0;
  const some: string[] = [];
  for (const o of view.entries.orphans(filter)) {
    if (capture.ledger.get(o.path)) view.entries.delete(o.path);
    else if (count++ < 50) some.push(o.path);
  }
  log.debug(`mirror: scanned ${n.sourceEntries} entries, ${count} orphans`, { orphans: some });
  n.progress.orphans = count;
  if (!opts.deleteOrphans) return null;
  const brake = deletionBrake({
    deletes: count,
    targetEntries: n.targetEntries,
    sourceEntries: n.sourceEntries,
    base: n.base,
    force: opts.force,
  });
  if (brake) {
    // Asked for and refused: `mirror start --wait` and `wait --for mirrored` exit 2 with it.
    n.progress.orphansHeld = brake;
    n.progress.error = `orphans not deleted: ${brake} (see smr orphans)`;
    log.warn(`mirror: ${n.progress.error}`);
    return null;
  }
  return (stillWanted) => view.deleteOrphans(filter, stillWanted);
}
