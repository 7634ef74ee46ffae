// A replica listing kept out of the JS heap: one row per listed path in a private temporary
// SQLite database (an anonymous file SQLite deletes when it is closed), read back one path or one
// page at a time. A million listed entries held as objects cost the source a gigabyte; here the
// memory is the bounded page cache whatever the size of the listing.
import { SmrError } from '../shared/errors.js';
import { nameBytes } from '../shared/name-bytes.js';
import { ListingMerge, type KeyRun } from './listing-merge.js';
import {
  TYPE_CODE,
  fromArray,
  row,
  type ListedRow,
  type Raw,
  type RawArray,
} from './listing-row.js';
import { subtreeEnd, toKey } from './path-key.js';
import { indexError, openDatabase, type Db, type Stmt } from './sqlite.js';

export type { ListedRow };

/** Default page cache of one listing: all of its memory beyond a page of rows. */
export const LISTING_CACHE_BYTES = 8 * 1024 * 1024;

// Keyed as the index is (path-key.ts: the path's bytes, '/' as 0x00): byte-exact for names that
// are not UTF-8, parents before their children, a subtree one key range. `marked`: paths apart.
const TABLES = `CREATE TABLE marked (key BLOB PRIMARY KEY) WITHOUT ROWID, STRICT;
CREATE TABLE listing (
  key BLOB PRIMARY KEY,
  type INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime REAL NOT NULL,
  mode INTEGER NOT NULL,
  link BLOB,
  attrs TEXT,
  inode TEXT,
  rdev TEXT
) WITHOUT ROWID, STRICT`;

// A subtree being moved is parked under this first byte (no key starts with it: a path's first
// byte is never NUL), so moving it over paths of its own never collides with itself half-way.
const PARKED = Buffer.of(0x00);
const PARKED_END = Buffer.of(0x01);
const PAGE = 1024;

const keyOf = (path: string): Buffer => toKey(nameBytes(path));

/** One listing of a replica, by path, on disk. */
export class ListingStore {
  private readonly put: Stmt;
  private readonly countAll: Stmt;
  private readonly getOne: Stmt;
  private readonly delOne: Stmt;
  private readonly takeOne: Stmt;
  private readonly delRange: Stmt;
  private readonly pageAfter: Stmt;
  private readonly pageFrom: Stmt;
  private readonly shared: Stmt;
  private readonly markOne: Stmt;
  private readonly isMarked: Stmt;
  private readonly addMany: (rows: readonly ListedRow[]) => void;
  private readonly merge: ListingMerge<Raw>;
  private marks = 0;

  private constructor(private readonly db: Db) {
    // Positional: named parameters took an object per row and a look-up per name.
    this.put = db.prepare('INSERT OR REPLACE INTO listing VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.countAll = db.prepare(
      'SELECT count(*) AS entries, total(CASE type WHEN 0 THEN size END) AS fileBytes FROM listing',
    );
    this.getOne = db.prepare('SELECT * FROM listing WHERE key = ?');
    this.delOne = db.prepare('DELETE FROM listing WHERE key = ?');
    this.takeOne = db.prepare('DELETE FROM listing WHERE key = ? RETURNING *');
    this.delRange = db.prepare('DELETE FROM listing WHERE key >= ? AND key < ?');
    this.pageAfter = db.prepare('SELECT * FROM listing WHERE key > ? ORDER BY key LIMIT ?');
    this.pageFrom = db.prepare(
      'SELECT * FROM listing WHERE key >= ? AND key < ? ORDER BY key LIMIT ?',
    );
    this.shared = db
      .prepare(
        'SELECT inode FROM listing WHERE inode IS NOT NULL GROUP BY inode HAVING count(*) > 1',
      )
      .pluck();
    this.markOne = db.prepare('INSERT OR IGNORE INTO marked VALUES (?)');
    this.isMarked = db.prepare('SELECT 1 FROM marked WHERE key = ?').pluck();
    this.addMany = db.transaction((rows: readonly ListedRow[]) => {
      for (const r of rows) this.putRow(keyOf(r.path), r);
    });
    const from = db.prepare('SELECT * FROM listing WHERE key >= ? ORDER BY key LIMIT ?').raw(true);
    const delRun = db.prepare('DELETE FROM listing WHERE key >= ? AND key <= ?');
    const drop = db.transaction((runs: readonly KeyRun[]) => {
      for (const [lo, hi] of runs) delRun.run(lo, hi);
    });
    const page = (k: Buffer, n: number) => (from.all(k, n) as RawArray[]).map(fromArray);
    this.merge = new ListingMerge<Raw>({ from: page, drop }, PAGE);
  }

  /** Opens an empty listing in a new anonymous temporary database. */
  static open(cacheBytes = LISTING_CACHE_BYTES): ListingStore {
    let db: Db | null = null;
    try {
      db = openDatabase('', false);
      db.pragma(`cache_size = -${Math.max(64, Math.floor(cacheBytes / 1024))}`);
      db.pragma('mmap_size = 0');
      db.pragma('temp_store = FILE');
      // Nothing here outlives the process: no journal, no syncs.
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec(TABLES);
      return new ListingStore(db);
    } catch (err) {
      db?.close();
      throw err instanceof SmrError ? err : indexError(err, 'listing');
    }
  }

  /** Listed paths and the bytes of the listed files (one walk of the table). */
  totals(): { entries: number; fileBytes: number } {
    return this.read(() => this.countAll.get()) as { entries: number; fileBytes: number };
  }

  /** Adds (or replaces) rows, in one transaction. */
  add(rows: readonly ListedRow[]): void {
    this.write(() => this.addMany(rows));
  }

  /** The row of `path`, if listed. */
  get(path: string): ListedRow | undefined {
    const r = this.read(() => this.getOne.get(keyOf(path))) as Raw | undefined;
    return r ? row(r) : undefined;
  }

  /** Whether `path` is listed. */
  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** Removes one path (not what is below it); whether it was listed. */
  delete(path: string): boolean {
    return this.write(() => this.delOne.run(keyOf(path)).changes) > 0;
  }

  /** Removes one path and returns its row: merged a page at a time when asked in path order. */
  take(path: string): ListedRow | undefined {
    const key = keyOf(path);
    const r = this.merge.follows(key)
      ? this.guard(() => this.merge.take(key))
      : (this.write(() => this.takeOne.get(key)) as Raw | undefined);
    return r ? row(r, path) : undefined;
  }

  /** Removes `path` and everything listed below it. */
  deleteTree(path: string): void {
    const key = keyOf(path);
    this.write(() => this.delRange.run(key, subtreeEnd(key)));
  }

  /**
   * Moves `from` and everything below it to `to`, replacing what was listed at and below `to`
   * (as a rename does on the target). A page of rows at a time, in one transaction.
   */
  moveTree(from: string, to: string): void {
    const [src, dst] = [keyOf(from), keyOf(to)];
    const parked = Buffer.concat([PARKED, dst]);
    this.write(() =>
      this.db.transaction(() => {
        this.rekey(src, subtreeEnd(src), (k) => Buffer.concat([parked, k.subarray(src.length)]));
        this.delRange.run(dst, subtreeEnd(dst));
        this.rekey(PARKED, PARKED_END, (k) => k.subarray(PARKED.length));
      })(),
    );
  }

  /** Up to `limit` rows in path order (parents before their children), after `after`. */
  page(after: string, limit: number): ListedRow[] {
    const lo = after === '' ? Buffer.alloc(0) : keyOf(after);
    const rows = this.read(() => this.pageAfter.all(lo, limit)) as Raw[];
    return rows.map((r) => row(r));
  }

  /** Every row, in path order, one page in memory at a time (rows may change meanwhile). */
  *rows(pageSize = PAGE): Generator<ListedRow> {
    for (let after = ''; ;) {
      const page = this.page(after, pageSize);
      yield* page;
      if (page.length < pageSize) return;
      after = (page[page.length - 1] as ListedRow).path;
    }
  }

  /** Inodes that more than one listed path shares (hard links on the replica). */
  sharedInodes(): string[] {
    return this.read(() => this.shared.all()) as string[];
  }

  /**
   * Remembers `path` apart from the rows (a TargetView marks the paths ops queued after the
   * listing moved, removed or replaced).
   */
  mark(path: string): void {
    this.marks += this.guard(() => this.markOne.run(keyOf(path)).changes);
  }

  /** Paths marked so far. */
  get marked(): number {
    return this.marks;
  }

  /** Whether `path` is marked. */
  isMarkedPath(path: string): boolean {
    return this.guard(() => this.isMarked.get(keyOf(path))) !== undefined;
  }

  /** Drops the listing (SQLite deletes its file). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  private putRow(key: Buffer, r: ListedRow): void {
    const link = r.link === undefined ? null : nameBytes(r.link);
    const rdev = r.rdev ? r.rdev.join(':') : null;
    const [attrs, inode] = [r.attrs ?? null, r.inode ?? null];
    this.put.run(key, TYPE_CODE[r.type], r.size, r.mtimeMs, r.mode, link, attrs, inode, rdev);
  }

  /**
   * Gives every row keyed in [lo, hi) the key `to(old key)`, a page at a time; the new keys lie
   * outside the range, so each page is the range's first.
   */
  private rekey(lo: Buffer, hi: Buffer, to: (k: Buffer) => Buffer): void {
    for (;;) {
      const page = this.pageFrom.all(lo, hi, PAGE) as Raw[];
      if (page.length === 0) return;
      for (const r of page) {
        this.delOne.run(r.key);
        this.put.run(to(r.key), r.type, r.size, r.mtime, r.mode, r.link, r.attrs, r.inode, r.rdev);
      }
    }
  }

  // Reads see the rows the merge took as deleted; a change makes it read its page afresh.
  private read<T>(fn: () => T): T {
    return this.guard(() => this.merge.before(false, fn));
  }

  private write<T>(fn: () => T): T {
    return this.guard(() => this.merge.before(true, fn));
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw indexError(err, 'listing');
    }
  }
}
