// Statements over the entries and blocks tables, in keys (path-key.ts). Subtree deletes and
// renames are one statement each over a key range: SQLite moves the rows, not JavaScript.
import {
  ENTRY_COLUMNS,
  ENTRY_COLUMN_COUNT,
  blocksFromRow,
  entryFromRow,
  entryParams,
  hashesToBlob,
} from './entry-codec.js';
import { fromKey, subtreeRange } from './path-key.js';
import type { Db, Stmt } from './sqlite.js';
import type { Tombstones } from './tombstones.js';
import type { BlockList, IndexEntry, IndexedPath } from './types.js';

/** A row as read: its key (a fresh Buffer), its entry, and (pages) its dirty flags then. */
export interface KeyedEntry {
  key: Buffer;
  entry: IndexEntry;
  flags?: number;
}

/** Keys from `lo` (inclusive) to `hi` (exclusive). */
export interface KeyRange {
  lo: Buffer;
  hi: Buffer;
}

const SET_ALL = ENTRY_COLUMNS.split(', ')
  .slice(1)
  .concat('blocks_id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

// Every column but the key, dev and ino: a row whose inode did not change is updated with these,
// because SQLite rewrites an index entry whenever its columns are assigned, even to equal values
// (an upsert of a random file then dirtied the inode index's page as well: twice the WAL).
const SAME_INODE_SET = ENTRY_COLUMNS.split(', ')
  .slice(1)
  .filter((c) => c !== 'dev' && c !== 'ino')
  .concat('blocks_id')
  .map((c) => `${c} = ?`)
  .join(', ');
/** Where dev and ino sit in `entryParams`. */
const DEV_PARAM = 6;

/** The entry's columns prefixed for the lookup's join (same order as `entryParams`). */
const PREFIXED = ENTRY_COLUMNS.split(', ')
  .slice(1)
  .map((c) => `e.${c}`)
  .join(', ');
/** Where the lookup row holds blocks_id, then block_size, size and hashes (after the columns). */
const BLOCKS_ID = ENTRY_COLUMN_COUNT - 1;
/** Where a page row holds the dirty flags (after the key and the entry's columns). */
const FLAGS_AT = ENTRY_COLUMN_COUNT;

/** Equal column values: integers come back as BigInt, bound ones may be numbers. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return a == b;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b))
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  return BigInt(a as bigint) === BigInt(b as bigint);
}

/**
 * Whether a lookup row already holds `params` and the block hashes `blocks` asks for
 * (undefined: keep what is held; null: none).
 */
function sameRow(row: unknown[], params: unknown[], blocks: BlockList | null | undefined): boolean {
  for (let i = 0; i < params.length; i++) if (!sameValue(row[i], params[i])) return false;
  if (blocks === undefined) return true;
  if (blocks === null) return row[BLOCKS_ID] === null;
  const [size, bsize, blob] = [row[BLOCKS_ID + 1], row[BLOCKS_ID + 2], row[BLOCKS_ID + 3]];
  if (blob === null || !sameValue(size, blocks.blockSize) || !sameValue(bsize, blocks.size))
    return false;
  return (blob as Buffer).equals(hashesToBlob(blocks.hashes));
}

/** An entry to record and its block hashes (as `put` takes them). */
export interface Built {
  entry: IndexEntry;
  blocks?: BlockList | null;
}

/** A row as `lookup` reads it: the entry's columns but the key, then its block hashes. */
export type HeldRow = unknown[];

/** The entry of a `lookup` row. */
export function heldEntry(row: HeldRow): IndexEntry {
  return entryFromRow([null, ...row]); // entryFromRow skips the key it expects first
}

/** A row as the index hands it out: by path (its key converted in place). */
export function withPath(r: KeyedEntry): IndexedPath {
  return { path: fromKey(r.key), entry: r.entry, flags: r.flags };
}

function keyed(rows: unknown): KeyedEntry[] {
  return (rows as unknown[][]).map((r) => ({ key: r[0] as Buffer, entry: entryFromRow(r) }));
}

/** Page rows carry the dirty flags after the entry's columns (a walk needs no query per row). */
function keyedWithFlags(rows: unknown): KeyedEntry[] {
  return (rows as unknown[][]).map((r) => ({
    key: r[0] as Buffer,
    entry: entryFromRow(r),
    flags: Number(r[FLAGS_AT] ?? 0),
  }));
}

/** The entries and their block hashes. */
export class EntryStore {
  private readonly getStmt: Stmt;
  private readonly lookupStmt: Stmt;
  private readonly upsertStmt: Stmt;
  private readonly updateSameInodeStmt: Stmt;
  private readonly getBlocksStmt: Stmt;
  private readonly insertBlocksStmt: Stmt;
  private readonly updateBlocksStmt: Stmt;
  private readonly deleteBlocksStmt: Stmt;
  private readonly deleteOneStmt: Stmt;
  private readonly deleteRangeBlocksStmt: Stmt;
  private readonly deleteRangeStmt: Stmt;
  private readonly renameRangeStmt: Stmt;
  private readonly pageStmt: Stmt;
  private readonly pageToEndStmt: Stmt;
  private readonly byInodeStmt: Stmt;
  private readonly countRangeStmt: Stmt;
  private readonly countAllStmt: Stmt;
  private readonly zeroSeqsStmt: Stmt;

  constructor(private readonly db: Db) {
    const read = (sql: string): Stmt => db.prepare(sql).raw(true).safeIntegers(true);
    const cols = ENTRY_COLUMNS;
    this.getStmt = read(`SELECT ${cols} FROM entries WHERE key = ?`);
    // The row as it is, with its block hashes: a put that would write the same is skipped.
    this.lookupStmt = read(
      `SELECT ${PREFIXED}, e.blocks_id, b.block_size, b.size, b.hashes FROM entries e ` +
        'LEFT JOIN blocks b ON b.id = e.blocks_id WHERE e.key = ?',
    );
    this.upsertStmt = db.prepare(
      `INSERT INTO entries (${cols}, blocks_id) VALUES (${'?, '.repeat(ENTRY_COLUMN_COUNT)}?) ` +
        `ON CONFLICT (key) DO UPDATE SET ${SET_ALL}`,
    );
    this.updateSameInodeStmt = db.prepare(`UPDATE entries SET ${SAME_INODE_SET} WHERE key = ?`);
    this.getBlocksStmt = read(
      'SELECT b.block_size, b.size, b.hashes FROM entries e JOIN blocks b ON b.id = e.blocks_id ' +
        'WHERE e.key = ?',
    );
    this.insertBlocksStmt = db.prepare(
      'INSERT INTO blocks (block_size, size, hashes) VALUES (?, ?, ?)',
    );
    this.updateBlocksStmt = db.prepare(
      'UPDATE blocks SET block_size = ?, size = ?, hashes = ? WHERE id = ?',
    );
    this.deleteBlocksStmt = db.prepare('DELETE FROM blocks WHERE id = ?');
    this.deleteOneStmt = db
      .prepare('DELETE FROM entries WHERE key = ? RETURNING blocks_id')
      .pluck();
    this.deleteRangeBlocksStmt = db.prepare(
      'DELETE FROM blocks WHERE id IN (SELECT blocks_id FROM entries ' +
        'WHERE key >= ? AND key < ? AND blocks_id IS NOT NULL)',
    );
    this.deleteRangeStmt = db.prepare('DELETE FROM entries WHERE key >= ? AND key < ?');
    // `substr` counts bytes in a BLOB; `||` yields text, cast back so the key stays a BLOB.
    this.renameRangeStmt = db.prepare(
      'UPDATE entries SET key = CAST(? || substr(key, ?) AS BLOB), seq = ? ' +
        'WHERE key >= ? AND key < ?',
    );
    const paged = `SELECT e.key, ${PREFIXED}, d.flags FROM entries e LEFT JOIN dirty d ON d.key = e.key`;
    this.pageStmt = read(`${paged} WHERE e.key >= ? AND e.key < ? ORDER BY e.key LIMIT ?`);
    this.pageToEndStmt = read(`${paged} WHERE e.key >= ? ORDER BY e.key LIMIT ?`);
    this.byInodeStmt = read(`SELECT ${cols} FROM entries WHERE dev = ? AND ino = ? ORDER BY key`);
    this.countRangeStmt = db
      .prepare('SELECT count(*) FROM entries WHERE key >= ? AND key < ?')
      .pluck();
    this.countAllStmt = db.prepare('SELECT count(*) FROM entries').pluck();
    this.zeroSeqsStmt = db.prepare('UPDATE entries SET seq = 0 WHERE seq != 0');
  }

  get(key: Buffer): IndexEntry | null {
    const r = this.getStmt.get(key) as unknown[] | undefined;
    return r ? entryFromRow(r) : null;
  }

  getBlocks(key: Buffer): BlockList | null {
    const r = this.getBlocksStmt.get(key) as [bigint, bigint, Buffer] | undefined;
    return r ? blocksFromRow(r[0], r[1], r[2]) : null;
  }

  /** The row at `key` as `put` compares it (null: none): one look-up serves a caller and its put. */
  lookup(key: Buffer): HeldRow | null {
    return (this.lookupStmt.get(key) as HeldRow | undefined) ?? null;
  }

  /**
   * Inserts or replaces the entry at `key`. Block hashes: `undefined` keeps those held (a change of
   * attributes only), `null` drops them, a list replaces them; only files keep any. `held`: the
   * row `lookup` found there just now, in the same transaction (undefined: looked up here).
   */
  put(
    key: Buffer,
    e: IndexEntry,
    blocks: BlockList | null | undefined,
    held?: HeldRow | null,
  ): boolean {
    const params = entryParams(e);
    const row = (held === undefined ? this.lookup(key) : held) ?? undefined;
    // Nothing would change (a no-change checksum mirror records every file it proved equal):
    // no write at all, where an upsert cost WAL pages for the entry, its hashes and the inode index.
    if (row && sameRow(row, params, e.type === 'file' ? blocks : null)) return false;
    const old = row && [row[BLOCKS_ID], row[DEV_PARAM], row[DEV_PARAM + 1]];
    const oldBlocks = old?.[0] == null ? null : Number(old[0]);
    let blocksId = oldBlocks;
    if (e.type !== 'file' || blocks === null) {
      if (oldBlocks !== null) this.deleteBlocksStmt.run(oldBlocks);
      blocksId = null;
    } else if (blocks !== undefined) {
      const row = [blocks.blockSize, blocks.size, hashesToBlob(blocks.hashes)];
      if (oldBlocks !== null) this.updateBlocksStmt.run(...row, oldBlocks);
      else blocksId = Number(this.insertBlocksStmt.run(...row).lastInsertRowid);
    }
    if (old && old[1] === params[DEV_PARAM] && old[2] === params[DEV_PARAM + 1]) {
      params.splice(DEV_PARAM, 2);
      this.updateSameInodeStmt.run(...params, blocksId, key);
    } else {
      this.upsertStmt.run(key, ...params, blocksId);
    }
    return true;
  }

  /**
   * put() of the entry `make` builds from the one held at `key` (null: none), read once for both.
   * A non-directory over a directory deletes everything below it first, tombstoned at its seq.
   */
  putOver(
    key: Buffer,
    i: number,
    make: (i: number, old: IndexEntry | null) => Built,
    tombstones: Tombstones,
  ): void {
    let held = this.lookup(key);
    const old = held && heldEntry(held);
    const { entry, blocks } = make(i, old);
    if (old?.type === 'dir' && entry.type !== 'dir') {
      if (this.deleteRange(subtreeRange(key)) > 0) tombstones.add(key, entry.seq);
      held = null;
    }
    this.put(key, entry, blocks, held);
  }

  /** Deletes the one entry at `key` (not what lies below it); false when there was none. */
  deleteOne(key: Buffer): boolean {
    const blocksId = this.deleteOneStmt.get(key) as number | null | undefined;
    if (blocksId === undefined) return false;
    if (blocksId !== null) this.deleteBlocksStmt.run(blocksId);
    return true;
  }

  /** Deletes every entry in the range (null: every entry); returns how many. */
  deleteRange(range: KeyRange | null): number {
    if (range === null) {
      this.db.prepare('DELETE FROM blocks').run();
      return this.db.prepare('DELETE FROM entries').run().changes;
    }
    this.deleteRangeBlocksStmt.run(range.lo, range.hi);
    return this.deleteRangeStmt.run(range.lo, range.hi).changes;
  }

  /** Replaces the prefix `from` of every key in the range with `to`, stamping `seq`. */
  renameRange(range: KeyRange, from: Buffer, to: Buffer, seq: number): number {
    return this.renameRangeStmt.run(to, from.length + 1, seq, range.lo, range.hi).changes;
  }

  /** Up to `limit` entries from `lo` (inclusive) to `hi` (exclusive; null: the end), in key order. */
  page(lo: Buffer, hi: Buffer | null, limit: number): KeyedEntry[] {
    return keyedWithFlags(
      hi === null ? this.pageToEndStmt.all(lo, limit) : this.pageStmt.all(lo, hi, limit),
    );
  }

  byInode(dev: bigint, ino: bigint): KeyedEntry[] {
    return keyed(this.byInodeStmt.all(BigInt.asIntN(64, dev), BigInt.asIntN(64, ino)));
  }

  /** Every entry's seq becomes 0 (the stream they were numbered in ended). */
  zeroSeqs(): void {
    this.zeroSeqsStmt.run();
  }

  /** Entries in the range (null: all). */
  count(range: KeyRange | null): number {
    if (range === null) return this.countAllStmt.get() as number;
    return this.countRangeStmt.get(range.lo, range.hi) as number;
  }
}
