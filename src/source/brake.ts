// The one guard every deletion of target files passes: orphans (`orphans --delete`, a mirror with
// --delete-orphans), paths a restart or a mirror found gone from the source, all of them. Named
// predicates in one place, as mutagen keeps its safety checks: what is refused, and why, is read
// here and nowhere else.

/** The share of the target a deletion may take without `--force`. */
export const MAX_DELETE_SHARE = 0.5;

/** One deletion about to happen. */
export interface Deletion {
  /** Entries it would delete on the target (a directory counts with everything below it). */
  deletes: number;
  /** Entries the target holds, as far as the caller knows (its listing, or the index). */
  targetEntries: number;
  /** Entries the source has (its scan or walk): 0 means an empty or missing source path. */
  sourceEntries: number;
  /** The source path, to name it in the reason. */
  base: string;
  /** Share allowed (default MAX_DELETE_SHARE). */
  maxShare?: number;
  /** `--force`: the operator looked and wants it. */
  force?: boolean;
}

/** The source set is empty: deleting would empty the replica (an unmounted or vanished path). */
export function emptiesReplica(d: Deletion): boolean {
  return d.sourceEntries === 0 && d.deletes > 0;
}

/** More than the allowed share of the target would go. */
export function deletesTooMuch(d: Deletion): boolean {
  return d.deletes / Math.max(1, d.targetEntries) > (d.maxShare ?? MAX_DELETE_SHARE);
}

/** Why the deletion is refused, or null when it may go ahead. */
export function deletionBrake(d: Deletion): string | null {
  if (d.force || d.deletes === 0) return null;
  if (emptiesReplica(d))
    return `the source path ${d.base} is empty or missing; deleting would empty the replica`;
  if (deletesTooMuch(d)) {
    const share = Math.round((d.maxShare ?? MAX_DELETE_SHARE) * 100);
    return `deleting ${d.deletes} of ${d.targetEntries} target entries is more than ${share}%`;
  }
  return null;
}
