// Hard-link grouping of the source tree against the target's listing, entry by entry as a scan
// meets them: the mirror relinks what differs, verify reports it as `hardlinks`.
import type { Stats } from 'node:fs';
import type { ListEntry } from '../protocol/listing.js';

/**
 * Tells, for each file a scan yields, whether its names group differently on the target: a name
 * of a source inode met before must share that name's target inode; a target inode shared inside
 * the replica must belong to one source inode. Memory: one entry per source inode with more than
 * one name and per target inode listed with more than one name.
 */
export class LinkGrouping {
  /** Source inode → the target inode of its first name met (null: not linked there). */
  private readonly targetOf = new Map<string, string | null>();
  /** Target inode → the source inode of its first name met. */
  private readonly sourceOf = new Map<string, string>();
  /** Target inodes that more than one listed name shares (a snapshot's links do not count). */
  private readonly shared = new Set<string>();

  constructor(listing: Iterable<ListEntry>) {
    const seen = new Set<string>();
    for (const t of listing) {
      if (t.inode === undefined) continue;
      if (seen.has(t.inode)) this.shared.add(t.inode);
      else seen.add(t.inode);
    }
  }

  /** A grouping from the target inodes a listing already found shared (replica-listing.ts). */
  static ofShared(shared: Iterable<string>): LinkGrouping {
    const g = new LinkGrouping([]);
    for (const inode of shared) g.shared.add(inode);
    return g;
  }

  /** Whether `rel` (source stat `st`, target entry `t`) is linked otherwise on the target. */
  differs(st: Pick<Stats, 'dev' | 'ino' | 'nlink' | 'isFile'>, t: ListEntry | undefined): boolean {
    if (!st.isFile() || t?.type !== 'file') return false;
    const theirs = t.inode !== undefined && this.shared.has(t.inode) ? t.inode : null;
    if (st.nlink < 2 && theirs === null) return false;
    const mine = `${st.dev}:${st.ino}`;
    let differs = false;
    if (st.nlink > 1) {
      const first = this.targetOf.get(mine);
      if (first === undefined) this.targetOf.set(mine, theirs);
      else differs = first === null || first !== theirs;
    }
    if (theirs !== null) {
      const owner = this.sourceOf.get(theirs);
      if (owner === undefined) this.sourceOf.set(theirs, mine);
      else differs ||= owner !== mine;
    }
    return differs;
  }
}
