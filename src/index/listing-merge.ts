// Consumes a listing in path order beside a scan that walks the tree in the same order (a merge
// join): rows are read a page at a time and the rows met are deleted a page at a time in one
// transaction, where a point look-up and delete per path cost ~12 µs (bench/RESULTS.md, issue
// 13). What the scan never meets stays in the table: the orphans. Memory: one page of rows and
// one page of keys to delete, whatever the size of the listing.

/** The first and last key of rows taken one after the other: no row between them stays. */
export type KeyRun = [Buffer, Buffer];

/** What the merge reads and deletes of a table keyed by path keys (index/path-key.ts). */
export interface MergeSource<R extends { key: Buffer }> {
  /** Up to `limit` rows keyed `key` or after it, in key order. */
  from(key: Buffer, limit: number): R[];
  /** Deletes the rows keyed from each run's first key to its last, both included (one transaction). */
  drop(runs: readonly KeyRun[]): void;
}

// A page read after a jump starts small and doubles while the scan keeps following it, so a
// caller that jumps around (or a table changed under it) costs a few rows per jump, not a page.
const FIRST_PAGE = 32;

/** A cursor over a listing that takes rows out for keys asked in ascending order. */
export class ListingMerge<R extends { key: Buffer }> {
  private buf: R[] = [];
  private pos = 0;
  private more = false;
  private stale = true;
  private size = FIRST_PAGE;
  private last: Buffer | null = null;
  /**
   * The rows taken, to delete: a run per stretch of consecutive rows of one page (a range delete
   * each, where a delete per key was a tenth of a no-change mirror's listing time).
   */
  private runs: KeyRun[] = [];
  private taken = 0;
  /** The page position of the last row taken into the open run (-1: none open). */
  private runAt = -1;

  constructor(
    private readonly src: MergeSource<R>,
    private readonly maxPage: number,
  ) {}

  /** Whether `key` comes after every key taken so far (a merge can answer it). */
  follows(key: Buffer): boolean {
    return this.last === null || Buffer.compare(key, this.last) > 0;
  }

  /** The row of `key`, taken out of the listing; `key` must follow the last one (follows()). */
  take(key: Buffer): R | undefined {
    this.last = key;
    if (this.stale) this.refill(key);
    for (;;) {
      while (this.pos < this.buf.length && Buffer.compare((this.buf[this.pos] as R).key, key) < 0)
        this.pos++;
      if (this.pos < this.buf.length || !this.more) break;
      this.size = Math.min(this.maxPage, this.size * 2);
      this.refill(key);
    }
    const r = this.buf[this.pos];
    if (r === undefined || !r.key.equals(key)) return undefined;
    // The page's rows from the open run's last up to this one were taken, none skipped.
    const run = this.runAt >= 0 && this.pos === this.runAt + 1 ? this.runs.at(-1) : undefined;
    if (run) run[1] = key;
    else this.runs.push([key, key]);
    this.runAt = this.pos++;
    if (++this.taken >= this.maxPage) this.flush();
    return r;
  }

  /** Runs `fn` on the table after deleting the rows taken; `changes`: it changes the table. */
  before<T>(changes: boolean, fn: () => T): T {
    if (changes) this.invalidate();
    else this.flush();
    return fn();
  }

  /** Deletes the rows taken so far (before anything else reads the table). */
  flush(): void {
    this.runAt = -1;
    if (this.runs.length === 0) return;
    const runs = this.runs;
    [this.runs, this.taken] = [[], 0];
    this.src.drop(runs);
  }

  /** The table changed under the cursor: delete what was taken, read afresh at the next take. */
  invalidate(): void {
    this.flush();
    this.stale = true;
    this.size = FIRST_PAGE;
  }

  private refill(key: Buffer): void {
    this.flush(); // (a new page: no run goes on into it)
    this.buf = this.src.from(key, this.size);
    this.pos = 0;
    this.more = this.buf.length === this.size;
    this.stale = false;
  }
}
