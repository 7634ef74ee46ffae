// Subtrees deleted or moved away by an operation the target has not acknowledged yet. If the
// journal loses that operation (a power loss took its unsynced tail), the target may still hold
// the subtree, and only these say that smr put it there: without them it would pass for orphans.
import type { Db, Stmt } from './sqlite.js';

/** A tombstone by key. */
export interface KeyTombstone {
  key: Buffer;
  seq: number;
}

/** The tombstones, trimmed as acks arrive. */
export class Tombstones {
  private readonly addStmt: Stmt;
  private readonly trimStmt: Stmt;
  private readonly pageStmt: Stmt;
  private readonly countStmt: Stmt;
  private readonly clearStmt: Stmt;

  constructor(db: Db) {
    this.addStmt = db.prepare(
      'INSERT INTO tombstones (key, seq) VALUES (?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET seq = max(seq, excluded.seq)',
    );
    this.trimStmt = db.prepare('DELETE FROM tombstones WHERE seq <= ?');
    this.pageStmt = db
      .prepare('SELECT key, seq FROM tombstones WHERE seq > ? AND key >= ? ORDER BY key LIMIT ?')
      .raw(true);
    this.countStmt = db.prepare('SELECT count(*) FROM tombstones').pluck();
    this.clearStmt = db.prepare('DELETE FROM tombstones');
  }

  /** Records that the subtree at `key` left at `seq`. */
  add(key: Buffer, seq: number): void {
    this.addStmt.run(key, seq);
  }

  /** Forgets tombstones the target has acknowledged (seq <= `ackedSeq`). */
  trim(ackedSeq: number): number {
    return this.trimStmt.run(ackedSeq).changes;
  }

  /** Up to `limit` tombstones with seq above `afterSeq`, from key `lo` (inclusive) in key order. */
  page(afterSeq: number, lo: Buffer, limit: number): KeyTombstone[] {
    const rows = this.pageStmt.all(afterSeq, lo, limit) as Array<[Buffer, number]>;
    return rows.map(([key, seq]) => ({ key, seq }));
  }

  count(): number {
    return this.countStmt.get() as number;
  }

  clear(): void {
    this.clearStmt.run();
  }
}
