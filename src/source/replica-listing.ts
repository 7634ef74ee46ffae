// The target's listing as the source holds it while a mirror, verify or orphans run: on disk
// (index/listing-store.ts), one entry read back at a time, so the source's memory does not grow
// with the replica. Map-like where the comparisons only look up and consume paths.
import { comparePaths } from '../index/index.js';
import { ListingStore } from '../index/listing-store.js';
import type { ListEntry } from '../protocol/listing.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { pathKey } from './index-path.js';
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
  private readonly store = ListingStore.open();
  /** Every batch so far came in path order (LIST_ITEMS `ordered`). */
  private ordered = true;
  /** The path of the last entry arrived (in path order: every path up to it has arrived). */
  private frontier: Buffer | null = null;
  /** The listing ended: true once complete, its error once failed. */
  private ended: true | Error | null = null;
  /** Wakes those waiting for more of the listing (covers()). */
  private wake: (() => void) | null = null;
  private arrived: Promise<void> | null = null;
  /** Target inodes listed so far, and how many listed names each has (hard links). */
  private readonly inodes = new Map<string, number>();
  private closed = false;
  /** Entries arrived (rows the scan took out since included). */
  private count = 0;

  /**
   * Adds one batch of LIST_ITEMS. `ordered`: the target lists in path order, so this batch
   * follows every one before it (a listing is taken as in order only if every batch says so).
   */
  add(items: readonly ListEntry[], ordered = false): void {
    if (this.closed) return; // a listing still arriving for a mirror that ended
    this.store.add(items);
    this.count += items.length;
    for (const e of items)
      if (e.inode !== undefined) this.inodes.set(e.inode, (this.inodes.get(e.inode) ?? 0) + 1);
    this.ordered &&= ordered;
    const last = items[items.length - 1];
    if (last) this.frontier = pathKey(last.path);
    this.notify();
  }

  /** The listing is complete (every batch has arrived). */
  complete(): void {
    this.ended ??= true;
    this.notify();
  }

  /** The listing failed: whoever waits for more of it gets `err`. */
  fail(err: Error): void {
    this.ended ??= err;
    this.notify();
  }

  /** Entries the listing brought, whether the scan took them out since or not. */
  get arrivedEntries(): number {
    return this.count;
  }

  /** Whether the listing is complete. */
  get isComplete(): boolean {
    return this.ended === true;
  }

  /**
   * Whether what the listing holds of `rel` is final: the listing is complete, or it comes in
   * path order and has gone past `rel` (so `rel` is listed already or not at all).
   */
  covers(rel: string): boolean {
    if (this.ended === true) return true;
    if (this.ended) throw this.ended;
    if (!this.ordered || this.frontier === null) return false;
    return comparePaths(this.frontier, pathKey(rel)) >= 0;
  }

  /** Resolves once covers(`rel`); rejects if the listing fails first. */
  async until(rel: string): Promise<void> {
    while (!this.covers(rel)) await this.more();
  }

  /** Resolves once the listing is complete; rejects if it fails first. */
  async untilComplete(): Promise<void> {
    while (this.ended !== true) {
      if (this.ended) throw this.ended;
      await this.more();
    }
  }

  /**
   * The entry of `rel`, taken out (a scan met it), once covers(`rel`). (An empty listing stays
   * empty: no look-up per entry in a mirror into an empty replica.)
   */
  takeListed(rel: string): ListEntry | undefined {
    return this.ended === true && this.count === 0 ? undefined : this.store.take(rel);
  }

  /**
   * Hard-link grouping against the whole listing as it arrived, once complete, held: the inodes
   * the replica shares. Counted as the rows arrived, so rows a scan took out since still count.
   */
  async linkGroupingOnceComplete(): Promise<LinkGrouping> {
    await this.untilComplete();
    const shared: string[] = [];
    for (const [inode, n] of this.inodes) if (n > 1) shared.push(inode);
    return LinkGrouping.ofShared(shared);
  }

  private more(): Promise<void> {
    this.arrived ??= new Promise<void>((resolve) => (this.wake = resolve));
    return this.arrived;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    this.arrived = null;
    wake?.();
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

  /** Drops the listing's table. */
  close(): void {
    this.closed = true;
    this.fail(new Error('the listing was closed'));
    this.store.close();
  }
}
