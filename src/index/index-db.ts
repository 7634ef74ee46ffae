// The index's SQLite connection: opened with the crash-safe settings of schema.ts, transactions
// (nested ones become savepoints), a commit made durable on demand, and every SQLite error turned
// into an SmrError naming the file.
import fs from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { DEFAULT_CACHE_BYTES, configure, ensureSchema } from './schema.js';
import { indexError, openDatabase, type Db } from './sqlite.js';
import type { IndexOptions } from './types.js';

/** One open index file. */
export class IndexDb {
  private readonly tx: (fn: () => unknown) => unknown;

  private constructor(
    /** The connection; statements are prepared on it by the stores. */
    readonly db: Db,
    /** The database file. */
    readonly file: string,
  ) {
    this.tx = db.transaction((fn: () => unknown) => fn());
  }

  /** Opens (or creates) the file; a crash's torn WAL tail is discarded here by SQLite. */
  static open(file: string, opts: IndexOptions = {}): IndexDb {
    const readonly = opts.readonly ?? false;
    let db: Db | null = null;
    try {
      if (!readonly) {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        // Owner-only whatever the umask: it names every file. SQLite gives its -wal and -shm
        // files the database file's mode.
        fs.closeSync(fs.openSync(file, 'a', 0o600));
      }
      db = openDatabase(file, readonly);
      configure(db, opts.cacheBytes ?? DEFAULT_CACHE_BYTES, readonly);
      ensureSchema(db, readonly);
      return new IndexDb(db, file);
    } catch (err) {
      db?.close();
      throw err instanceof SmrError ? err : indexError(err, file);
    }
  }

  /** Runs `fn` in a transaction (a savepoint inside another): all of it commits, or none. */
  transaction<T>(fn: () => T): T {
    return this.guard(() => this.tx(fn) as T);
  }

  /**
   * Runs `fn` (which must write) in a transaction whose commit is fsynced, which makes every
   * commit before it durable too (they are all in the WAL file). Not inside another transaction:
   * SQLite cannot change the sync level there.
   */
  durable<T>(fn: () => T): T {
    if (this.db.inTransaction) {
      throw new SmrError('usage', `index ${this.file}: a durable commit cannot run inside a batch`);
    }
    return this.guard(() => {
      this.db.pragma('synchronous = FULL');
      try {
        return this.tx(fn) as T;
      } finally {
        this.db.pragma('synchronous = NORMAL');
      }
    });
  }

  /**
   * durable(), with the fsync off the main thread (an ack's fsync blocked everything for ~5-20
   * ms): `fn` commits as any transaction (synchronous=NORMAL), then the WAL file is fdatasynced in
   * the thread pool; the promise resolves once it is. Every commit before `fn`'s is then durable:
   * its frames are still in the WAL, or a checkpoint copied them into the database file, and at
   * synchronous=NORMAL a checkpoint syncs the WAL before and the database file after it, before
   * the WAL can start over. The WAL is opened in the commit's turn: only a close removes it.
   */
  durableSoon<T>(fn: () => T): Promise<T> {
    if (this.db.inTransaction) {
      throw new SmrError('usage', `index ${this.file}: a durable commit cannot run inside a batch`);
    }
    const r = this.transaction(fn);
    const fd = fs.openSync(`${this.file}-wal`, 'r');
    return new Promise<T>((resolve, reject) =>
      fs.fdatasync(fd, (err) => {
        fs.closeSync(fd);
        if (!err) return resolve(r);
        const why = `index ${this.file}: fsync failed: ${err.message}`;
        reject(new SmrError('io', why, undefined, { cause: err }));
      }),
    );
  }

  /** SQLite's full integrity check: the problems found (none: an empty list). */
  integrityCheck(): string[] {
    const rows = this.guard(() => this.db.pragma('integrity_check')) as Array<{
      integrity_check: string;
    }>;
    const msgs = rows.map((r) => r.integrity_check);
    return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
  }

  /** Closes the file (SQLite checkpoints the WAL into it). */
  close(): void {
    if (this.db.open) this.guard(() => this.db.close());
  }

  /** Runs `fn`, turning SQLite's errors into SmrErrors. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw indexError(err, this.file);
    }
  }
}
