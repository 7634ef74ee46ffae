// Walking the index a page at a time with keyset paging: each page is one short query, and no
// statement stays open between pages, so memory is one page whatever the index holds, writes may
// run between two pages, and a long walk never pins an old snapshot (the WAL can checkpoint).
// A walk sees the table as it is when each page is read: rows added or removed ahead of the
// cursor are seen or not accordingly; rows behind it are not revisited.
import type { KeyedEntry } from './entry-store.js';
import { childHolding, childrenStart, isDirectChild, subtreeEnd } from './path-key.js';

/** Rows read per page. */
export const PAGE_ROWS = 512;

/** Reads up to `limit` rows from `lo` (inclusive) to `hi` (exclusive; null: the end). */
export type PageReader<T> = (lo: Buffer, hi: Buffer | null, limit: number) => T[];

/** The smallest key after `key` (keys are compared as bytes; nothing sorts between the two). */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.of(0)]);
}

/**
 * Every row from `lo` to `hi`, in key order. Callers may change the keys they are given (the next
 * page's start is taken before a page is handed out).
 */
export function* scan<T extends { key: Buffer }>(
  read: PageReader<T>,
  lo: Buffer,
  hi: Buffer | null,
  limit = PAGE_ROWS,
): Generator<T> {
  let cur = lo;
  for (;;) {
    const rows = read(cur, hi, limit);
    const last = rows[rows.length - 1];
    const next = rows.length === limit && last ? keyAfter(last.key) : null;
    yield* rows;
    if (next === null) return;
    cur = next;
  }
}

/**
 * The direct children of the directory whose key is `dirKey` (empty: the root), in key order.
 * A child's own subtree is skipped with one jump past it, so the cost follows the number of
 * children, not of everything below them.
 */
export function* scanChildren(
  read: PageReader<KeyedEntry>,
  dirKey: Buffer,
  limit = PAGE_ROWS,
): Generator<KeyedEntry> {
  const start = childrenStart(dirKey);
  const hi = dirKey.length === 0 ? null : subtreeEnd(dirKey);
  let cur = start;
  for (;;) {
    const rows = read(cur, hi, limit);
    const out: KeyedEntry[] = [];
    let skipTo: Buffer | null = null;
    for (const r of rows) {
      if (skipTo !== null && Buffer.compare(r.key, skipTo) < 0) continue;
      if (isDirectChild(r.key, start)) out.push(r);
      else skipTo = subtreeEnd(childHolding(r.key, start));
    }
    const last = rows[rows.length - 1];
    let next: Buffer | null = null;
    if (rows.length === limit && last) {
      next = keyAfter(last.key);
      if (skipTo !== null && Buffer.compare(skipTo, next) > 0) next = skipTo;
    }
    yield* out;
    if (next === null) return;
    cur = next;
  }
}
