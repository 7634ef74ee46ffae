// The SQLite application of the consistency harness: a `sqlite3` shell fed one transaction after
// another through a pipe, and the checks run on a copy of a database (the source's after its death,
// or the replica's).
//
// Every transaction k inserts 1–20 rows tagged (txn = k, of = rows in k), rewrites one older row
// (so pages all over the file change, not only the tail) and sets totals = (k, rows so far). A
// database that is a state the source went through therefore holds whole transactions 1..m and
// nothing else; which m the source had reached at its death is read from the source's own files
// (a process kill loses no committed transaction: the page cache survives it).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The journal modes the harness runs: SQLite's two ways of making a transaction atomic. */
export const SQLITE_MODES = { 'sqlite-wal': 'WAL', 'sqlite-rollback': 'DELETE' };

const SCHEMA = `
CREATE TABLE t(id INTEGER PRIMARY KEY, txn INT NOT NULL, of INT NOT NULL, k TEXT NOT NULL, v BLOB);
CREATE INDEX t_k ON t(k);
CREATE INDEX t_txn ON t(txn);
CREATE TABLE totals(id INTEGER PRIMARY KEY CHECK (id = 1), txns INT NOT NULL, rows INT NOT NULL);
INSERT INTO totals VALUES (1, 0, 0);
`;

/** Runs the sqlite3 shell on `db` with `sql`; returns { code, out, err }. */
export function sqlite(db, sql, timeoutMs = 60_000) {
  const r = spawnSync('sqlite3', ['-batch', '-bail', db], {
    input: sql,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ?? '') };
}

/** The SQLite application in one journal mode ('WAL' or 'DELETE'). */
export class SqliteApp {
  constructor(journalMode) {
    this.journalMode = journalMode;
    this.name = journalMode === 'WAL' ? 'sqlite-wal' : 'sqlite-rollback';
  }

  /** Nothing to prepare once per run of the harness. */
  async prepare() {}

  /** Creates the database (schema, journal mode) in `src` before replication starts. */
  async setup(src) {
    const db = path.join(src, 'app.db');
    const r = sqlite(db, `PRAGMA journal_mode=${this.journalMode};\n${SCHEMA}`);
    if (r.code !== 0) throw new Error(`creating ${db} failed: ${r.err}`);
  }

  /**
   * Starts writing: returns { pids(), stats() } — the pids to kill at the source's death, and how
   * many transactions were handed to the shell.
   */
  start(src, rnd) {
    const db = path.join(src, 'app.db');
    const p = spawn('sqlite3', ['-batch', '-bail', db], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdin.on('error', () => undefined); // EPIPE once the shell is killed
    // synchronous=FULL: a COMMIT returns only once the transaction is on disk, in both modes.
    // A small autocheckpoint makes the WAL fold into the database file often during a run.
    p.stdin.write(
      `PRAGMA synchronous=FULL;\nPRAGMA wal_autocheckpoint=100;\nPRAGMA busy_timeout=10000;\n`,
    );
    let txn = 0;
    const feed = () => {
      // Keep a few transactions ahead of the shell; the pipe's back-pressure paces the writer.
      while (p.stdin.writable) {
        txn++;
        const rows = 1 + Math.floor(rnd() * 20);
        let sql = 'BEGIN;\n';
        for (let i = 0; i < rows; i++) {
          const len = 50 + Math.floor(rnd() * 1500);
          sql += `INSERT INTO t(txn, of, k, v) VALUES (${txn}, ${rows}, hex(randomblob(8)), randomblob(${len}));\n`;
        }
        sql +=
          `UPDATE t SET k = hex(randomblob(8)), v = randomblob(${50 + Math.floor(rnd() * 800)}) ` +
          `WHERE id = (SELECT abs(random()) % max(id) + 1 FROM t);\n` +
          `UPDATE totals SET txns = ${txn}, rows = rows + ${rows};\nCOMMIT;\n`;
        if (!p.stdin.write(sql)) return p.stdin.once('drain', feed);
      }
    };
    feed();
    return {
      pids: () => [p.pid],
      stats: () => ({ fed: txn, error: err.trim() || null }),
      exited: new Promise((r) => p.once('exit', (code, signal) => r({ code, signal }))),
    };
  }

  /** Reads a copy of the database in `dir` and judges it; see `judge`. */
  async check(dir) {
    return checkSqlite(path.join(dir, 'app.db'));
  }
}

/**
 * Opens the database `db` (its journal or WAL beside it are rolled back or replayed by SQLite, as
 * after a crash) and returns { ok, reason, txns, rows }: ok when `PRAGMA integrity_check` says ok
 * and the rows are exactly whole transactions 1..txns, matching the totals row.
 */
export function checkSqlite(db) {
  if (!fs.existsSync(db)) return { ok: false, reason: 'database file missing', txns: null };
  const r = sqlite(
    db,
    `PRAGMA integrity_check;
SELECT 'rows', count(*), count(DISTINCT txn), coalesce(max(txn), 0) FROM t;
SELECT 'totals', txns, rows FROM totals;
SELECT 'partial', count(*) FROM (SELECT txn FROM t GROUP BY txn HAVING count(*) != max(of));
`,
  );
  const lines = r.out.trim().split('\n');
  const integrity = lines.filter((l) => l && !/^(rows|totals|partial)\|/.test(l));
  const field = (name) =>
    lines
      .find((l) => l.startsWith(`${name}|`))
      ?.split('|')
      .slice(1);
  const firstErr = r.err.trim().split('\n')[0];
  if (r.code !== 0 && !integrity.length) return { ok: false, reason: firstErr, txns: null };
  if (integrity.join(' ') !== 'ok')
    return {
      ok: false,
      reason: `integrity_check: ${integrity.slice(0, 2).join('; ')}`,
      txns: null,
    };
  if (r.code !== 0) return { ok: false, reason: firstErr, txns: null };
  const [count, distinct, max] = (field('rows') ?? []).map(Number);
  const [txns, rows] = (field('totals') ?? []).map(Number);
  const [partial] = (field('partial') ?? []).map(Number);
  const problems = [];
  if (distinct !== max) problems.push(`transactions 1..${max} but only ${distinct} present`);
  if (txns !== max) problems.push(`totals say ${txns} transactions, rows say ${max}`);
  if (rows !== count) problems.push(`totals say ${rows} rows, table has ${count}`);
  if (partial) problems.push(`${partial} transactions only partly present`);
  return { ok: !problems.length, reason: problems.join('; ') || null, txns: max, rows: count };
}
