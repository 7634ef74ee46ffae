// The index's tables and the connection settings that make it crash-safe and bounded in memory.
// docs/INDEX.md explains each choice; the schema version lives in PRAGMA user_version.
import { SmrError } from '../shared/errors.js';
import type { Db } from './sqlite.js';
import { STAMP_PAGES_SQL } from './stamp-pages.js';

/** The schema this code reads and writes. */
export const SCHEMA_VERSION = 3;

/** Default SQLite page cache: the index's memory is this plus a little, whatever its size. */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

/** After a checkpoint the WAL file is cut back to this size, so one big batch does not stay. */
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * WAL pages between automatic checkpoints (SQLite's default is 1,000). Each checkpoint fsyncs the
 * WAL and the database on the main thread; a full mirror commits tens of thousands of small
 * batches rewriting the same few pages, so a longer WAL copies each page once per checkpoint and
 * syncs a tenth as often (measured: 465 fsyncs down to 141 for 110k entries in 10k directories).
 */
const WAL_CHECKPOINT_PAGES = 10_000;

// entries: clustered on the key (WITHOUT ROWID) so a subtree is one run of pages and iteration is
// a sequential read. Block hashes live apart (blocks, by a rowid the entry points to): renaming a
// subtree rewrites the small entry rows, never the hashes, and reading an entry skips them.
// STRICT: a key that is not a BLOB would sort apart from the others and break every range.
const TABLES = `
CREATE TABLE entries (
  key BLOB PRIMARY KEY,
  type INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  rdev INTEGER NOT NULL,
  link BLOB,
  sha256 BLOB,
  attr_digest BLOB,
  seq INTEGER NOT NULL,
  blocks_id INTEGER,
  ctime_ns INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID, STRICT;
CREATE INDEX entries_inode ON entries (dev, ino);
CREATE TABLE blocks (
  id INTEGER PRIMARY KEY,
  block_size INTEGER NOT NULL,
  size INTEGER NOT NULL,
  hashes BLOB NOT NULL
) STRICT;
CREATE TABLE dirty (key BLOB PRIMARY KEY, flags INTEGER NOT NULL) WITHOUT ROWID, STRICT;
CREATE TABLE tombstones (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID, STRICT;
CREATE INDEX tombstones_seq ON tombstones (seq);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID, STRICT;
${STAMP_PAGES_SQL}`;

/**
 * Sets the connection up: WAL (a commit is one append, readers never block the writer, a torn
 * append is discarded on open), synchronous=NORMAL (durable against a killed process; a power
 * loss may drop the last commits but never corrupts — docs/INDEX.md says why that is enough),
 * a bounded page cache and no mmap (so resident memory does not grow with the file).
 */
export function configure(db: Db, cacheBytes: number, readonly: boolean): void {
  db.pragma(`cache_size = -${Math.max(1, Math.floor(cacheBytes / 1024))}`);
  db.pragma('mmap_size = 0');
  db.pragma('temp_store = FILE');
  db.pragma('foreign_keys = OFF');
  if (readonly) return;
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new SmrError('io', `index ${db.name}: cannot use WAL (got ${mode})`);
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
}

// Each step takes a file from the version before it to its own. Version 2 (issue 13): the ctime
// the attributes were read at, 0 in rows written before it (their attributes are read once more).
// Version 3 (issue 13): the kept pages of a reconciliation's rows (stamp-pages.ts), none at first.
const UPGRADES: Record<number, string> = {
  2: 'ALTER TABLE entries ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;',
  3: STAMP_PAGES_SQL,
};

/**
 * Creates the tables in a new file and brings an older one up to this version in one transaction;
 * refuses a file written by a newer version (or by something else).
 */
export function ensureSchema(db: Db, readonly: boolean): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version >= 1 && version < SCHEMA_VERSION && !readonly) {
    db.transaction(() => {
      for (let v = version + 1; v <= SCHEMA_VERSION; v++) db.exec(UPGRADES[v] as string);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return;
  }
  if (version === 0 && !readonly) {
    const tables = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck();
    if ((tables.get() as number) === 0) {
      db.transaction(() => {
        db.exec(TABLES);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
      return;
    }
  }
  throw new SmrError(
    'journal-corrupt',
    `index ${db.name} has schema version ${version}, this smr reads ${SCHEMA_VERSION}`,
    'remove it (the connection will be remirrored) or run the smr that wrote it',
  );
}
