// Whether the index already records a file exactly as a checksum mirror found it, asked in SQL:
// one statement binds what recording it would write and answers with one integer. Reading the row
// and its block hashes into objects instead (a BigInt per integer column, the blob copied, the
// dirty flags a third query) was most of the source's index time in a no-change checksum mirror.
import { ENTRY_TYPES, hashesToBlob } from './entry-codec.js';
import type { IndexDb } from './index-db.js';
import { toKey } from './path-key.js';
import type { Stmt } from './sqlite.js';
import { DIRTY_UNSURE, type BlockList } from './types.js';

/** A file as it would be recorded, with what it is compared against. */
export interface FileAsFound {
  size: number;
  /** As stored (known.ts mtimeNsOf). */
  mtimeNs: bigint;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  dev: number;
  ino: number;
  /** The ctime that must have proved the stored attribute stamp (known.ts ctimeNsOf). */
  ctimeNs: bigint;
  /** The target's listed attribute stamp, equal to the stored one as a whole (undefined: none). */
  listed: string | undefined;
  /** The newest seq the row may carry (no op queued for the path since). */
  maxSeq: number;
  blocks: BlockList;
}

const FILE = ENTRY_TYPES.indexOf('file') + 1;
// The stored stamp as known.ts knownOf builds it: `uid:gid:` and the digest's text.
const STAMP = "e.uid || ':' || e.gid || ':' || CAST(e.attr_digest AS TEXT)";

/**
 * One row when the entry at the key is a file not marked unsure, with no op after the seq bound,
 * of this size, mtime, mode and inode, its attribute stamp stored and proved by this ctime (and
 * the listed stamp, when bound, that very stamp), and block hashes of this block size, file size
 * and bytes: what mirror-equal.ts recordEqual would otherwise decode and compare field by field.
 * Integers bound as numbers compare exactly with the stored integers (SQLite compares integers
 * and doubles by value); one a double cannot hold exactly never compares equal.
 */
const SQL =
  'SELECT 1 FROM entries e JOIN blocks b ON b.id = e.blocks_id ' +
  'LEFT JOIN dirty d ON d.key = e.key ' +
  `WHERE e.key = ? AND e.type = ${FILE} AND e.seq <= ? AND e.size = ? AND e.mtime_ns = ? ` +
  'AND (e.mode & 4095) = ? AND e.dev = ? AND e.ino = ? ' +
  'AND e.attr_digest IS NOT NULL AND e.ctime_ns != 0 AND e.ctime_ns = ? ' +
  `AND ifnull(?, ${STAMP}) = ${STAMP} ` +
  `AND (d.flags IS NULL OR (d.flags & ${DIRTY_UNSURE}) = 0) ` +
  'AND b.block_size = ? AND b.size = ? AND b.hashes = ?';

/** The statement, prepared once per index connection. */
export class RecordedFile {
  private readonly stmt: Stmt;

  constructor(private readonly idb: IndexDb) {
    this.stmt = idb.db.prepare(SQL).pluck();
  }

  /** Whether the index holds the file at `path` exactly as `f` (false: compare it the long way). */
  holds(path: Buffer, f: FileAsFound): boolean {
    const { blocks: b } = f;
    return this.idb.guard(
      () =>
        this.stmt.get(
          toKey(path),
          f.maxSeq,
          f.size,
          f.mtimeNs,
          f.mode,
          f.dev,
          f.ino,
          f.ctimeNs,
          f.listed ?? null,
          b.blockSize,
          b.size,
          hashesToBlob(b.hashes),
        ) !== undefined,
    );
  }
}
