// StampRows (stamp-rows.ts) for a reconciliation, read ahead on a worker thread. The main thread
// of a no-change restart was busy all the walk long, a third of it in SQLite stepping through
// these pages, while a core sat idle: past its first pages the table is read by a worker with its
// own read-only connection, a few pages ahead, packed into typed arrays (no row object, no BigInt
// crosses threads); the main thread unpacks the rows it merges. The rows, their order and their
// values are StampRows' own (the same query, the same conversions); a worker that cannot start or
// fails leaves the rest to be read here, from the row after the last one it delivered.
//
// Freshness: like keyed pages read by the main thread, a page shows the table as it was when read.
// Rows read ahead may miss a change capture made after: the walk then compares a stale row,
// which at worst hints a path for one more check (capture compares with the index as it is now);
// what changed on disk after the walk started is reported by the watcher either way.
import { Worker } from 'node:worker_threads';
import { keyAfter } from './cursors.js';
import { ENTRY_TYPES } from './entry-codec.js';
import type { IndexDb } from './index-db.js';
import { SQLITE_MODULE } from './sqlite.js';
import { STAMP_ROWS_SQL, StampRows, type StampRow } from './stamp-rows.js';
import type { EntryType } from './types.js';

// The worker reads each key as hex text written into the page's one Buffer: better-sqlite3 makes
// a Buffer per blob, which at 1M rows was 0.6-0.9 s of the worker's 1.9-2.3 s of CPU.
const HEX_KEY_SQL = STAMP_ROWS_SQL.replace(/^SELECT e\.key,/, 'SELECT hex(e.key),');

/** Rows per page; pages the worker may read before the main thread took them. */
const PAGE = 1024;
const AHEAD = 4;
/** Numbers per row in a page: type, size, mode, dev, ino, stamped, flags, mtime_ns, ctime_ns. */
const NUMS = 9;

/** A page as the worker packs it. */
interface Packed {
  keys: Uint8Array;
  /** Where each row's key ends in `keys`. */
  ends: Uint32Array;
  nums: Float64Array;
  /** Row number and target bytes of each symlink. */
  links: Array<[number, Uint8Array]>;
  last: boolean;
}

type Reply = Packed | { error: string };

// As source text: it runs from dist/ and under the tests' TypeScript alike. Each row's numbers are
// stampFromRow's (stamp-rows.ts): the same expressions on the same values.
const WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
let stmt;
let failed = null;
try {
  // Opened while the main thread reads the first pages itself: ready once it is told where to go on.
  const Database = require(w.sqlite);
  const db = new Database(w.file, { readonly: true, fileMustExist: true });
  db.pragma('mmap_size = 0');
  stmt = db.prepare(w.sql).raw(true).safeIntegers(true);
} catch (err) {
  failed = err;
}
let credit = ${AHEAD};
let from = null;
let over = false;
function pump() {
  while (from !== null && credit > 0 && !over) {
    credit--;
    try {
      if (failed) throw failed;
      const rows = stmt.all(from, ${PAGE});
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
      over = n < ${PAGE};
      if (!over) from = Buffer.from(rows[n - 1][0] + '00', 'hex');
      const msg = { keys, ends, nums, links, last: over };
      parentPort.postMessage(msg, [keys.buffer, ends.buffer, nums.buffer]);
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
 * The index's StampRows in key order: `next()` hands out the rows buffered (undefined: none is),
 * `cover(key)` makes sure they reach past `key`, `more()` reads one more page. The first
 * `inlineRows` are read on this thread (a small index never starts a worker); call `close()` when
 * done.
 */
export class StampsAhead {
  private readonly reader: StampRows;
  private rows: StampRow[] = [];
  private at = 0;
  /** Where the next page starts; null once the last page is in. */
  private from: Buffer | null = Buffer.alloc(0);
  private read = 0;
  /** Rows the worker read (the rest were read on this thread). */
  fromWorker = 0;
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

  /** The next row, or undefined when none is buffered (call cover first) or none is left. */
  next(): StampRow | undefined {
    return this.rows[this.at++];
  }

  /** Buffers rows until one past `key` is in, or the last one is. */
  async cover(key: Buffer): Promise<void> {
    for (;;) {
      const last = this.rows[this.rows.length - 1];
      // Past `key`, not at it: the row after the last one merged is then in too.
      const enough = last !== undefined && Buffer.compare(last.key, key) > 0;
      if (enough || !(await this.more())) return;
    }
  }

  /** Buffers one more page; false when none is left. */
  async more(): Promise<boolean> {
    if (this.from === null) return false;
    // The rows handed out are dropped: what is buffered stays about a chunk and a page.
    this.rows = this.rows.slice(this.at);
    this.at = 0;
    this.rows.push(...(await this.page(this.from)));
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
  private async page(from: Buffer): Promise<StampRow[]> {
    const w = this.read >= this.inlineRows ? this.start() : null;
    if (w && !this.told) w.postMessage({ from });
    this.told ||= w !== null;
    const got = w && (await this.take());
    if (got && !('error' in got)) {
      w.postMessage(1); // room for one more page ahead
      const rows = unpack(got);
      const last = rows[rows.length - 1];
      this.from = got.last || !last ? null : keyAfter(last.key);
      this.read += rows.length;
      this.fromWorker += rows.length;
      return rows;
    }
    if (got) this.close(); // its error: this page, and the rest, are read here
    const rows = this.reader.page(from, null, PAGE);
    const last = rows[rows.length - 1];
    this.from = rows.length < PAGE || !last ? null : keyAfter(last.key);
    this.read += rows.length;
    // More than a page: the worker starts now, so it is up by the time the pages here are read.
    if (this.from !== null) this.start();
    return rows;
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const workerData = { sqlite: SQLITE_MODULE, file: this.idb.file, sql: HEX_KEY_SQL };
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

function unpack(p: Packed): StampRow[] {
  const keys = Buffer.from(p.keys.buffer, p.keys.byteOffset, p.keys.byteLength);
  const links = new Map(p.links.map(([i, l]) => [i, Buffer.from(l)]));
  const out: StampRow[] = [];
  let start = 0;
  const nums = p.nums;
  for (let i = 0; i < p.ends.length; i++) {
    const end = p.ends[i] as number;
    const o = i * NUMS;
    out.push({
      key: keys.subarray(start, end),
      type: ENTRY_TYPES[(nums[o] as number) - 1] as EntryType,
      size: nums[o + 1] as number,
      mtimeNs: nums[o + 7] as number,
      mode: nums[o + 2] as number,
      dev: nums[o + 3] as number,
      ino: nums[o + 4] as number,
      link: p.links.length ? (links.get(i) ?? null) : null,
      stamped: nums[o + 5] === 1,
      ctimeNs: nums[o + 8] as number,
      flags: nums[o + 6] as number,
    });
    start = end;
  }
  return out;
}
