// The index as a reconciliation compares it with the disk: per entry only what capture compares
// with an lstat (type, inode, size, mtime, mode, link), whether attributes were recorded and the
// ctime that proves them, and the dirty flags. Read in key order a page at a time, like
// PathIndex.entries; the whole entry is looked up only for the few rows a comparison needs it for.
// Measured on 110,100 rows: the full page with its entry objects was 12% of a no-change restart;
// these columns alone take about 60% of the SQL time, and no IndexEntry is built per row.
import { ENTRY_TYPES } from './entry-codec.js';
import type { IndexDb } from './index-db.js';
import type { Stmt } from './sqlite.js';
import type { EntryType } from './types.js';

/** One entry as a reconciliation compares it (IndexEntry's fields of the same names). */
export interface StampRow {
  /** Its key (path-key.ts): compared with the walk's. */
  key: Buffer;
  type: EntryType;
  size: number;
  /**
   * mtime_ns as a double: exact, or NaN where the stored value has no exact double (it then
   * equals no stat's: knownIs's BigInt comparison, without a BigInt per row; see exactNs).
   */
  mtimeNs: number;
  /** Permission bits (st_mode & 0o7777), as Known holds them. */
  mode: number;
  /** As numbers, as Node's Stats give them (Known's dev and ino). */
  dev: number;
  ino: number;
  /** The symlink's target bytes (null for everything else). */
  link: Buffer | null;
  /** Attributes were recorded (IndexEntry.attrDigest is not null): they have a stamp. */
  stamped: boolean;
  /** ctime_ns as a double, as mtimeNs (0: no ctime proves the attributes). */
  ctimeNs: number;
  /** Its dirty flags when the page was read (0: none). */
  flags: number;
}

/** A page of rows from a key on (stamps-ahead.ts's worker runs it too). */
export const STAMP_ROWS_SQL =
  'SELECT e.key, e.type, e.size, e.mtime_ns, e.mode, e.dev, e.ino, e.link, ' +
  'e.attr_digest IS NOT NULL, e.ctime_ns, d.flags FROM entries e ' +
  'LEFT JOIN dirty d ON d.key = e.key WHERE e.key >= ? ORDER BY e.key LIMIT ?';

/** STAMP_ROWS_SQL's rows before a key: its parameters are lo, hi, limit. */
export const STAMP_ROWS_BEFORE_SQL = STAMP_ROWS_SQL.replace(
  'WHERE e.key >= ?',
  'WHERE e.key >= ? AND e.key < ?',
);

/** Reads StampRows in key order. */
export class StampRows {
  private readonly pageStmt: Stmt;
  private readonly beforeStmt: Stmt;

  constructor(private readonly idb: IndexDb) {
    this.pageStmt = idb.db.prepare(STAMP_ROWS_SQL).raw(true).safeIntegers(true);
    this.beforeStmt = idb.db.prepare(STAMP_ROWS_BEFORE_SQL).raw(true).safeIntegers(true);
  }

  /** Up to `limit` rows from `lo` (inclusive) to `hi` (exclusive; null: the end), in key order. */
  readonly page = (lo: Buffer, hi: Buffer | null, limit: number): StampRow[] =>
    this.idb.guard(() =>
      (
        (hi === null
          ? this.pageStmt.all(lo, limit)
          : this.beforeStmt.all(lo, hi, limit)) as unknown[][]
      ).map(stampFromRow),
    );
}

/** An int64 of ns as a double when one holds it exactly, else NaN (stamps-ahead's worker too). */
export function exactNs(v: bigint): number {
  const d = Number(v);
  return BigInt(d) === v ? d : NaN;
}

function stampFromRow(r: unknown[]): StampRow {
  return {
    key: r[0] as Buffer,
    type: ENTRY_TYPES[Number(r[1]) - 1] as EntryType,
    size: Number(r[2]),
    mtimeNs: exactNs(r[3] as bigint),
    mode: Number(r[4]) & 0o7777,
    // Unsigned as the kernel has them, then numbers (as entryFromRow and knownOf make them).
    dev: Number(BigInt.asUintN(64, r[5] as bigint)),
    ino: Number(BigInt.asUintN(64, r[6] as bigint)),
    link: (r[7] as Buffer | null) ?? null,
    stamped: r[8] === 1n,
    ctimeNs: exactNs(r[9] as bigint),
    flags: Number(r[10] ?? 0),
  };
}
