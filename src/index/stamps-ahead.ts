// StampRows (stamp-rows.ts) for a reconciliation, read ahead on a worker thread. The main thread
// of a no-change restart was busy all the walk long, a third of it in SQLite stepping through
// these pages, while a core sat idle: past its first pages the table is read by a worker with its
// own read-only connection, a few pages ahead, packed into typed arrays (no row object, no BigInt
// crosses threads); the main thread reads the rows it merges in place (stamp-page.ts). The rows,
// their order and their values are StampRows' own (the same query, the same conversions); a
// worker that cannot start or fails leaves the rest to be read here, from the row after the last
// one it delivered.
//
// Freshness: like keyed pages read by the main thread, a page shows the table as it was when read.
// Rows read ahead may miss a change capture made after: the walk then compares a stale row,
// which at worst hints a path for one more check (capture compares with the index as it is now);
// what changed on disk after the walk started is reported by the watcher either way.
import { Worker } from 'node:worker_threads';
import { keyAfter } from './cursors.js';
import type { IndexDb } from './index-db.js';
import { SQLITE_MODULE } from './sqlite.js';
import { NUMS, packRows, RowView, type Packed } from './stamp-page.js';
import { PAGE, STAMP_FORMAT } from './stamp-pages.js';
import { STAMP_ROWS_BEFORE_SQL, STAMP_ROWS_SQL, StampRows, type StampRow } from './stamp-rows.js';

// The worker reads each key as hex text written into the page's one Buffer: better-sqlite3 makes
// a Buffer per blob, which at 1M rows was 0.6-0.9 s of the worker's 1.9-2.3 s of CPU.
const hexKeys = (sql: string): string => sql.replace(/^SELECT e\.key,/, 'SELECT hex(e.key),');

/** Pages the worker may read before the main thread took them. */
const AHEAD = 4;

/** A page, and whether it is a kept one (stamp-pages.ts). */
type Reply = (Packed & { kept?: boolean }) | { error: string };

// As source text: it runs from dist/ and under the tests' TypeScript alike. Each row's numbers are
// stampFromRow's (stamp-rows.ts): the same expressions on the same values. A range a kept page
// covers (stamp-pages.ts) is that page's blobs, copied into the arrays it sends.
const WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
let stmt, before, cover = null, after = null;
let failed = null;
try {
  // Opened while the main thread reads the first pages itself: ready once it is told where to go on.
  const Database = require(w.sqlite);
  const db = new Database(w.file, { readonly: true, fileMustExist: true });
  db.pragma('mmap_size = 0');
  stmt = db.prepare(w.sql).raw(true).safeIntegers(true);
  before = db.prepare(w.before).raw(true).safeIntegers(true);
  cover = db.prepare('SELECT first_key, hi_key, keys, ends, nums, links FROM stamp_pages ' +
    'WHERE first_key <= ? AND format = ? ORDER BY first_key DESC LIMIT 1').raw(true);
  after = db.prepare('SELECT first_key FROM stamp_pages WHERE first_key > ? AND format = ? ' +
    'ORDER BY first_key LIMIT 1').pluck();
} catch (err) {
  failed = err;
}
let credit = ${AHEAD};
let from = null;
let over = false;
function endAt(hi) {
  if (hi === null) over = true;
  else from = hi;
}
function copied(b, T) {
  const a = new T(b.length / T.BYTES_PER_ELEMENT);
  new Uint8Array(a.buffer).set(b);
  return a;
}
function kept(p) {
  const keys = Buffer.allocUnsafeSlow(p[2].length);
  p[2].copy(keys);
  const links = [];
  for (let o = 0; o < p[5].length; ) {
    const len = p[5].readUInt32LE(o + 4);
    links.push([p[5].readUInt32LE(o), Buffer.from(p[5].subarray(o + 8, o + 8 + len))]);
    o += 8 + len;
  }
  endAt(p[1]);
  return { keys, ends: copied(p[3], Uint32Array), nums: copied(p[4], Float64Array), links, kept: true };
}
function fromRows(hi) {
  const rows = hi === null ? stmt.all(from, ${PAGE}) : before.all(from, hi, ${PAGE});
  const n = rows.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += rows[i][0].length / 2;
  const keys = Buffer.allocUnsafeSlow(bytes);
  const ends = new Uint32Array(n);
  const nums = new Float64Array(n * ${NUMS});
  const links = [];
  let len = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    len += keys.write(r[0], len, 'hex');
    ends[i] = len;
    const o = i * ${NUMS};
    nums[o] = Number(r[1]);
    nums[o + 1] = Number(r[2]);
    nums[o + 2] = Number(r[4]) & 0o7777;
    nums[o + 3] = Number(BigInt.asUintN(64, r[5]));
    nums[o + 4] = Number(BigInt.asUintN(64, r[6]));
    nums[o + 5] = r[8] === 1n ? 1 : 0;
    nums[o + 6] = Number(r[10] ?? 0);
    // As exactNs (stamp-rows.ts): the double that holds the ns exactly, else NaN.
    const m = Number(r[3]), c = Number(r[9]);
    nums[o + 7] = BigInt(m) === r[3] ? m : NaN;
    nums[o + 8] = BigInt(c) === r[9] ? c : NaN;
    if (r[7] !== null) links.push([i, r[7]]);
  }
  if (n === ${PAGE}) from = Buffer.from(rows[n - 1][0] + '00', 'hex');
  else endAt(hi);
  return { keys, ends, nums, links };
}
// The rows from \`from\` on: a kept page that starts there, the rows up to the end of one that
// covers it, or the rows up to the next kept page.
function nextPage() {
  const p = cover.get(from, w.format);
  if (p && (p[1] === null || Buffer.compare(p[1], from) > 0))
    return p[0].equals(from) ? kept(p) : fromRows(p[1]);
  return fromRows(after.get(from, w.format) ?? null);
}
function pump() {
  while (from !== null && credit > 0 && !over) {
    credit--;
    try {
      if (failed) throw failed;
      let msg = nextPage();
      while (msg.ends.length === 0 && !over) msg = nextPage(); // an empty range sends nothing
      msg.last = over;
      parentPort.postMessage(msg, [msg.keys.buffer, msg.ends.buffer, msg.nums.buffer]);
    } catch (err) {
      over = true;
      parentPort.postMessage({ error: String((err && err.message) || err) });
    }
  }
}
parentPort.on('message', (m) => {
  if (typeof m === 'number') credit += m;
  else from = Buffer.from(m.from);
  pump();
});
`;

/**
 * The index's StampRows in key order, a packed page at a time: `row` reads the current one in
 * place (`has()`: one is buffered), `advance()` moves past it, `more()` reads the next page once
 * the current one is used up. The first `inlineRows` are read on this thread (a small index never
 * starts a worker); call `close()` when done.
 */
export class StampsAhead {
  private readonly reader: StampRows;
  /** The current row of the current page (see has()). */
  readonly row = new RowView();
  /** Where the next page starts; null once the last page is in. */
  private from: Buffer | null = Buffer.alloc(0);
  private read = 0;
  /** Rows the worker read (the rest were read on this thread), and those of them kept packed. */
  fromWorker = 0;
  fromKept = 0;
  private worker: Worker | null = null;
  /** The worker was told where its pages start. */
  private told = false;
  private broken = false;
  private readonly pages: Array<Reply | null> = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly idb: IndexDb,
    private readonly inlineRows = 4096,
  ) {
    this.reader = new StampRows(idb);
  }

  /** Whether a row is buffered at the cursor (false: call more()). */
  has(): boolean {
    return this.row.i < this.row.count;
  }

  /** Moves past the current row. */
  advance(): void {
    this.row.at(this.row.i + 1);
  }

  /** The current row as an object of its own, and moves past it; undefined when none is buffered. */
  next(): StampRow | undefined {
    if (!this.has()) return undefined;
    const r = this.row.copy();
    this.advance();
    return r;
  }

  /** Reads the next page, once the current one is used up; false when none is left. */
  async more(): Promise<boolean> {
    if (this.has()) throw new Error('StampsAhead.more: rows of the current page are left');
    if (this.from === null) return false;
    this.row.load(await this.page(this.from));
    return true;
  }

  /** Ends the worker. */
  close(): void {
    this.broken = true;
    void this.worker?.terminate();
    this.worker = null;
    this.wake?.();
  }

  /** The page from `from`, here or from the worker; moves `from` on. */
  private async page(from: Buffer): Promise<Packed> {
    const w = this.read >= this.inlineRows ? this.start() : null;
    if (w && !this.told) w.postMessage({ from });
    this.told ||= w !== null;
    const got = w && (await this.take());
    if (got && !('error' in got)) {
      w.postMessage(1); // room for one more page ahead
      const n = got.ends.length;
      const end = n ? (got.ends[n - 1] as number) : 0;
      const lastKey = n ? got.keys.subarray(n > 1 ? (got.ends[n - 2] as number) : 0, end) : null;
      this.from = got.last || !lastKey ? null : keyAfter(Buffer.from(lastKey));
      this.read += n;
      this.fromWorker += n;
      if (got.kept) this.fromKept += n;
      return got;
    }
    if (got) this.close(); // its error: this page, and the rest, are read here
    const rows = this.reader.page(from, null, PAGE);
    const last = rows[rows.length - 1];
    this.from = rows.length < PAGE || !last ? null : keyAfter(last.key);
    this.read += rows.length;
    // More than a page: the worker starts now, so it is up by the time the pages here are read.
    if (this.from !== null) this.start();
    return packRows(rows, this.from === null);
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const workerData = {
        sqlite: SQLITE_MODULE,
        file: this.idb.file,
        sql: hexKeys(STAMP_ROWS_SQL),
        before: hexKeys(STAMP_ROWS_BEFORE_SQL),
        format: STAMP_FORMAT,
      };
      const w = new Worker(WORKER, { eval: true, workerData });
      w.on('message', (r: Reply) => this.arrive(r));
      w.on('error', (err: Error) => this.arrive({ error: err.message }));
      w.on('exit', () => this.arrive({ error: 'exited' }));
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private arrive(r: Reply): void {
    this.pages.push(r);
    this.wake?.();
  }

  /** The worker's next page; null once it was closed. */
  private async take(): Promise<Reply | null> {
    while (!this.pages.length && !this.broken) await new Promise<void>((ok) => (this.wake = ok));
    this.wake = null;
    return this.broken ? null : (this.pages.shift() ?? null);
  }
}
