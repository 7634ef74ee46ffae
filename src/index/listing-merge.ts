// Consumes a listing in path order beside a scan that walks the tree in the same order (a merge
// join): rows are read a page at a time and the rows met are deleted a page at a time in one
// transaction, where a point look-up and delete per path cost ~12 µs (bench/RESULTS.md, issue
// 13). What the scan never meets stays in the table: the orphans. Memory: one page of rows and
// one page of keys to delete, whatever the size of the listing.

/** What the merge reads and deletes of a table keyed by path keys (index/path-key.ts). */
export interface MergeSource<R extends { key: Buffer }> {
  /** Up to `limit` rows keyed `key` or after it, in key order. */
  from(key: Buffer, limit: number): R[];
  /** Deletes the rows of these keys (one transaction). */
  drop(keys: readonly Buffer[]): void;
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
  private pending: Buffer[] = [];

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
    this.pos++;
    this.pending.push(key);
    if (this.pending.length >= this.maxPage) this.flush();
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
    if (this.pending.length === 0) return;
    const keys = this.pending;
    this.pending = [];
    this.src.drop(keys);
  }

  /** The table changed under the cursor: delete what was taken, read afresh at the next take. */
  invalidate(): void {
    this.flush();
    this.stale = true;
    this.size = FIRST_PAGE;
  }

  private refill(key: Buffer): void {
    this.flush();
    this.buf = this.src.from(key, this.size);
    this.pos = 0;
    this.more = this.buf.length === this.size;
    this.stale = false;
  }
}
