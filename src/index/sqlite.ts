// The one module that imports better-sqlite3: opening a database file, and the types and error
// mapping the rest of src/index uses. SQLite errors become SmrErrors with a code the CLI maps.
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { SmrError } from '../shared/errors.js';

/** better-sqlite3's entry file, for a worker thread that opens the index itself. */
export const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3');

/** An open SQLite connection. */
export type Db = Database.Database;
/** A prepared statement. */
export type Stmt = Database.Statement<unknown[], unknown>;

/** Opens the database file, creating it unless read-only (a read-only open needs the file). */
export function openDatabase(file: string, readonly: boolean): Db {
  return new Database(file, { readonly, fileMustExist: readonly });
}

/** Turns an error from SQLite into an SmrError saying what happened to the index at `file`. */
export function indexError(err: unknown, file: string): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  const code = err.code;
  const cause = { cause: err };
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new SmrError(
      'journal-corrupt',
      `index ${file} is damaged (${code})`,
      'remove it: the connection will be remirrored',
      cause,
    );
  }
  if (code === 'SQLITE_FULL') {
    return new SmrError('io', `index ${file}: no space left on device`, 'free space', cause);
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new SmrError(
      'permission',
      `index ${file}: ${err.message}`,
      'run smr as a user allowed to write its state directory',
      cause,
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_IOERR')) {
    return new SmrError('io', `index ${file}: ${code}: ${err.message}`, undefined, cause);
  }
  return new SmrError('internal', `index ${file}: ${code}: ${err.message}`, undefined, cause);
}
