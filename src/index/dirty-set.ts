// Paths known to need a fresh look, with why (DIRTY_* bits): changed but not queued (the queue is
// at its limit, the watcher overflowed), or not described truly by the index (a batch was being
// queued when the process stopped). On disk like the entries, so a million of them cost no memory.
import type { KeyRange } from './entry-store.js';
import { fromKey, subtreeEnd } from './path-key.js';
import type { Db, Stmt } from './sqlite.js';
import type { DirtyPath } from './types.js';

/** A dirty key with its reasons. */
export interface DirtyKey {
  key: Buffer;
  flags: number;
}

/** A dirty key as the index hands it out: by path (its key converted in place). */
export const withDirtyPath = (d: DirtyKey): DirtyPath => ({ path: fromKey(d.key), flags: d.flags });

/** The dirty set. */
export class DirtySet {
  private readonly markStmt: Stmt;
  private readonly flagsStmt: Stmt;
  private readonly removeOnlyStmt: Stmt;
  private readonly takeBitsStmt: Stmt;
  private readonly pageStmt: Stmt;
  private readonly countStmt: Stmt;
  private readonly copyRangeStmt: Stmt;
  private readonly removeRangeStmt: Stmt;
  private readonly takeRangeBitsStmt: Stmt;
  private readonly removeEmptyRangeStmt: Stmt;
  private readonly markEntriesAboveStmt: Stmt;
  private readonly clearStmt: Stmt;
  private readonly promoteStmt: Stmt;

  constructor(db: Db) {
    const merge = 'ON CONFLICT (key) DO UPDATE SET flags = flags | excluded.flags';
    this.markStmt = db.prepare(`INSERT INTO dirty (key, flags) VALUES (?, ?) ${merge}`);
    this.flagsStmt = db.prepare('SELECT flags FROM dirty WHERE key = ?').pluck();
    // Unmarking is one statement when the row holds no other reasons (a batch's end clears a
    // path's every mark: a look-up first was a statement per path of its own).
    this.removeOnlyStmt = db.prepare('DELETE FROM dirty WHERE key = ? AND (flags & ~?) = 0');
    this.takeBitsStmt = db.prepare(
      'UPDATE dirty SET flags = flags & ~? WHERE key = ? AND (flags & ?) != 0',
    );
    this.pageStmt = db
      .prepare('SELECT key, flags FROM dirty WHERE key >= ? AND flags & ? ORDER BY key LIMIT ?')
      .raw(true);
    this.countStmt = db.prepare('SELECT count(*) FROM dirty WHERE flags & ?').pluck();
    // An INSERT ... SELECT needs its WHERE for SQLite to read ON CONFLICT as an upsert.
    this.copyRangeStmt = db.prepare(
      'INSERT INTO dirty (key, flags) SELECT CAST(? || substr(key, ?) AS BLOB), flags FROM dirty ' +
        `WHERE key >= ? AND key < ? ${merge}`,
    );
    this.removeRangeStmt = db.prepare('DELETE FROM dirty WHERE key >= ? AND key < ?');
    this.takeRangeBitsStmt = db.prepare(
      'UPDATE dirty SET flags = flags & ~? WHERE key >= ? AND key < ? AND (flags & ?) != 0',
    );
    this.removeEmptyRangeStmt = db.prepare(
      'DELETE FROM dirty WHERE key >= ? AND key < ? AND flags = 0',
    );
    this.markEntriesAboveStmt = db.prepare(
      `INSERT INTO dirty (key, flags) SELECT key, ? FROM entries WHERE seq > ? ${merge}`,
    );
    this.clearStmt = db.prepare('DELETE FROM dirty');
    this.promoteStmt = db.prepare('UPDATE dirty SET flags = (flags & ~?) | ? WHERE flags & ?');
  }

  /** Adds reasons to a key. */
  mark(key: Buffer, flags: number): void {
    this.markStmt.run(key, flags);
  }

  /** The key's reasons (0: not dirty). */
  flags(key: Buffer): number {
    return (this.flagsStmt.get(key) as number | undefined) ?? 0;
  }

  /** Takes reasons off a key; it leaves the set when none is left. */
  unmark(key: Buffer, flags: number): void {
    if (this.removeOnlyStmt.run(key, flags).changes === 0) this.takeBitsStmt.run(flags, key, flags);
  }

  /** Up to `limit` keys from `lo` (inclusive) with any of `flags`, in key order. */
  page(lo: Buffer, flags: number, limit: number): DirtyKey[] {
    const rows = this.pageStmt.all(lo, flags, limit) as Array<[Buffer, number]>;
    return rows.map(([key, f]) => ({ key, flags: f }));
  }

  /** How many keys have any of `flags`. */
  count(flags: number): number {
    return this.countStmt.get(flags) as number;
  }

  /** Moves the marks in the range to prefix `to` (merged with marks already there). */
  moveRange(range: KeyRange, from: Buffer, to: Buffer): void {
    this.copyRangeStmt.run(to, from.length + 1, range.lo, range.hi);
    this.removeRangeStmt.run(range.lo, range.hi);
  }

  /**
   * Takes reasons off `key` and every key below it (a deleted subtree: the target holds nothing
   * there, and the checks pending below it are dropped as covered by its delete, so no check
   * would ever clear them); keys left with no reason leave the set.
   */
  unmarkTree(key: Buffer, flags: number): void {
    const [lo, hi] = [key, subtreeEnd(key)];
    if (this.takeRangeBitsStmt.run(flags, lo, hi, flags).changes > 0)
      this.removeEmptyRangeStmt.run(lo, hi);
  }

  /** Marks every entry whose seq is above `seq`; returns how many entries were. */
  markEntriesAbove(seq: number, flags: number): number {
    return this.markEntriesAboveStmt.run(flags, seq).changes;
  }

  /** Every key marked `from` is marked `to` instead; returns how many. */
  promote(from: number, to: number): number {
    return this.promoteStmt.run(from, to, from).changes;
  }

  /** Empties the set. */
  clear(): void {
    this.clearStmt.run();
  }
}
