// The target's listing as the source holds it while a mirror, verify or orphans run: on disk
// (index/listing-store.ts), one entry read back at a time, so the source's memory does not grow
// with the replica. Map-like where the comparisons only look up and consume paths.
import { trimMalloc } from '../fsmeta/index.js';
import { ListingStore } from '../index/listing-store.js';
import type { ListEntry } from '../protocol/listing.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { LinkGrouping } from './link-groups.js';

/** What a tree comparison reads of a listing: look a path up, consume it (compare.ts). */
export interface ListedEntries {
  get(rel: string): ListEntry | undefined;
  delete(rel: string): boolean;
}

/** Entries one read of the table brings into memory. */
const PAGE = 1024;

/** One listing of the replica, by path. */
export class ReplicaListing implements ListedEntries {
  private readonly store: ListingStore;

  constructor() {
    // What was freed before (a mirror's reconciliation, its threads ended) goes back to the
    // kernel before the listing and the comparison need memory of their own: malloc would keep
    // it resident in its free lists (src/fsmeta/malloc.ts).
    trimMalloc();
    this.store = ListingStore.open();
  }

  /** Adds one batch of LIST_ITEMS. */
  add(items: readonly ListEntry[]): void {
    this.store.add(items);
  }

  get(rel: string): ListEntry | undefined {
    return this.store.get(rel);
  }

  has(rel: string): boolean {
    return this.store.has(rel);
  }

  delete(rel: string): boolean {
    return this.store.delete(rel);
  }

  /** The entry of `rel`, removed from the listing (a scan met it on the source). */
  take(rel: string): ListEntry | undefined {
    return this.store.take(rel);
  }

  /** Listed entries (a count of the table: not for every entry). */
  get size(): number {
    return this.store.totals().entries;
  }

  /** Listed entries and the bytes of the listed files (one walk of the table). */
  totals(): { entries: number; fileBytes: number } {
    return this.store.totals();
  }

  /** Removes `rel` and everything below it. */
  deleteTree(rel: string): void {
    this.store.deleteTree(rel);
  }

  /** Moves `from` and its subtree to `to`, replacing what was listed there. */
  moveTree(from: string, to: string): void {
    this.store.moveTree(from, to);
  }

  /** Every entry in path order (bytewise: parents before their children), a page at a time. */
  values(): Generator<ListEntry> {
    return this.store.rows(PAGE);
  }

  /** Every listed path, in path order. */
  *keys(): Generator<string> {
    for (const e of this.store.rows(PAGE)) yield e.path;
  }

  /** Remembers a path an op queued after the listing moved, removed or replaced. */
  mark(rel: string): void {
    this.store.mark(rel);
  }

  /** Whether `rel` or a directory above it is marked. */
  markedAt(rel: string): boolean {
    if (this.store.marked === 0) return false;
    if (this.store.isMarkedPath(rel)) return true;
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1))
      if (this.store.isMarkedPath(rel.slice(0, i))) return true;
    return false;
  }

  /** Entries the filter keeps (so smr's to manage), in path order: after a scan, the orphans. */
  *orphans(filter: PathFilter): Generator<ListEntry> {
    for (const t of this.store.rows(PAGE)) {
      const excluded = t.type === 'dir' ? !filter.dir(t.path) : !filter.file(t.path);
      if (!excluded && !underExcludedDir(filter, t.path)) yield t;
    }
  }

  /** The orphans (see orphans()) held and sorted as replies list them. */
  sortedOrphans(filter: PathFilter): ListEntry[] {
    return [...this.orphans(filter)].sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Hard-link grouping against this listing (held: the inodes the replica shares). */
  linkGrouping(): LinkGrouping {
    return LinkGrouping.ofShared(this.store.sharedInodes());
  }

  /** Drops the listing's table; its page cache and what the comparison freed go back (above). */
  close(): void {
    this.store.close();
    trimMalloc();
  }
}
