// The StampRows a reconciliation reads (stamp-rows.ts), kept packed in the index as the
// read-ahead worker sends them (stamp-page.ts): one row of `stamp_pages` per run of up to PAGE
// entries, its keys, ends, numbers and links as blobs. A no-change restart of 1M files spent
// ~2.6 s of CPU stepping through `entries` (a BigInt per integer column, a join with `dirty`)
// to build pages that are the same from one restart to the next; a kept page is read as four
// blobs.
//
// Exactness: the pages cover the key space without gaps or overlaps where they exist: a page
// holds every row from its `first_key` (inclusive) to its `hi_key` (exclusive; NULL: the end) as
// they were when it was built, in one transaction with no write between. Triggers on `entries`
// and `dirty` delete the page covering a key whenever a row with that key is inserted, updated
// or deleted, in the writing transaction itself, so a page that exists is never stale. A key no
// page covers is read from `entries` as before. refresh() builds missing pages a bounded number
// of rows at a time, each batch read and written in one transaction (no write comes between);
// the source calls it while no mirror or restart walk runs (source/stamp-keeper.ts).
import { keyAfter } from './cursors.js';
import type { IndexDb } from './index-db.js';
import type { Stmt } from './sqlite.js';
import { NUMS, packRows, type Packed } from './stamp-page.js';
import { StampRows } from './stamp-rows.js';

/** Rows per kept page (the read-ahead worker's page). */
export const PAGE = 1024;

/**
 * The packing the kept pages hold: stamp-page.ts's NUMS numbers per row, in this machine's byte
 * order. A page of another format is never read (and refresh() replaces it).
 */
export const STAMP_FORMAT =
  NUMS * 2 + (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1);

// The page covering a key: the one with the greatest first_key not after it, if its hi_key is.
const covering = (k: string): string =>
  `DELETE FROM stamp_pages WHERE first_key = (SELECT max(first_key) FROM stamp_pages ` +
  `WHERE first_key <= ${k}) AND (hi_key IS NULL OR hi_key > ${k});`;

const drop = (table: string, when: string, keys: string[]): string =>
  `CREATE TRIGGER stamp_pages_${table}_${when.toLowerCase()} AFTER ${when} ON ${table} BEGIN ` +
  `${keys.map(covering).join(' ')} END;`;

/** The table and its triggers (schema.ts: a new file, and the upgrade to version 3). */
export const STAMP_PAGES_SQL = `
CREATE TABLE stamp_pages (
  first_key BLOB NOT NULL UNIQUE,
  hi_key BLOB,
  format INTEGER NOT NULL,
  keys BLOB NOT NULL,
  ends BLOB NOT NULL,
  nums BLOB NOT NULL,
  links BLOB NOT NULL
) STRICT;
${drop('entries', 'INSERT', ['NEW.key'])}
${drop('entries', 'UPDATE', ['OLD.key', 'NEW.key'])}
${drop('entries', 'DELETE', ['OLD.key'])}
${drop('dirty', 'INSERT', ['NEW.key'])}
${drop('dirty', 'UPDATE', ['OLD.key', 'NEW.key'])}
${drop('dirty', 'DELETE', ['OLD.key'])}
`;

/** A page's symlink targets as one blob: per link its row (u32), its length (u32), its bytes. */
export function packLinks(links: ReadonlyArray<[number, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  for (const [i, bytes] of links) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(i, 0);
    head.writeUInt32LE(bytes.length, 4);
    parts.push(head, Buffer.from(bytes));
  }
  return Buffer.concat(parts);
}

/** Builds the pages for the key ranges no page covers yet. */
export class StampPages {
  private readonly list: Stmt;
  private readonly insert: Stmt;
  private readonly dropOld: Stmt;
  private readonly rows: StampRows;

  constructor(private readonly idb: IndexDb) {
    this.rows = new StampRows(idb);
    this.list = idb.db
      .prepare('SELECT first_key, hi_key FROM stamp_pages WHERE format = ? ORDER BY first_key')
      .raw(true);
    this.insert = idb.db.prepare(
      'INSERT INTO stamp_pages (first_key, hi_key, format, keys, ends, nums, links) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.dropOld = idb.db.prepare('DELETE FROM stamp_pages WHERE format != ?');
  }

  /** The key ranges no page covers, in order: [lo, hi) (hi null: to the end). */
  gaps(): Array<[Buffer, Buffer | null]> {
    const out: Array<[Buffer, Buffer | null]> = [];
    let lo: Buffer | null = Buffer.alloc(0);
    for (const [first, hi] of this.list.all(STAMP_FORMAT) as Array<[Buffer, Buffer | null]>) {
      if (lo !== null && !first.equals(lo)) out.push([lo, first]);
      lo = hi;
    }
    if (lo !== null) out.push([lo, null]);
    return out;
  }

  /**
   * Builds pages for the ranges no page covers, about `budget` rows of them in one transaction.
   * Returns whether every range is covered now.
   */
  refresh(budget: number): boolean {
    // Read once, outside the transaction: nothing else runs before it begins, and where no range
    // is missing there is no write at all.
    const gaps = this.idb.guard(() => this.gaps());
    if (gaps.length === 0) return true;
    return this.idb.transaction(() => {
      this.dropOld.run(STAMP_FORMAT); // another format's pages: not in `gaps`' list, replaced now
      let left = budget;
      for (const [lo, hi] of gaps) {
        let cur = lo;
        for (;;) {
          if (left <= 0) return false;
          const rows = this.rows.page(cur, hi, PAGE);
          const last = rows[rows.length - 1];
          // A full page ends right after its last key; the next one starts there.
          let end = rows.length === PAGE && last ? keyAfter(last.key) : hi;
          if (end !== null && hi !== null && end.equals(hi)) end = hi;
          const p = packRows(rows, end === null);
          this.insert.run(cur, end, STAMP_FORMAT, ...blobs(p));
          left -= Math.max(rows.length, 1);
          if (end === hi) break;
          cur = end as Buffer;
        }
      }
      return true;
    });
  }
}

/** A packed page's arrays as the table's blobs (keys, ends, nums, links). */
function blobs(p: Packed): [Buffer, Buffer, Buffer, Buffer] {
  const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return [view(p.keys), view(p.ends), view(p.nums), packLinks(p.links)];
}
