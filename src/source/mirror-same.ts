// A mirror's 'same' entries (the scan's stat matched the target's listing), settled many per
// pipeline step: those the index already records as the scan saw them need nothing; the others go
// through the per-entry step (MirrorSteps.path).
import type { ScanStat } from './entry-type.js';
import { comparePaths, DIRTY_UNSURE, type IndexedPath } from '../index/index.js';
import type { ListEntry } from '../protocol/listing.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { entryType } from './entry-type.js';
import { pathKey } from './index-path.js';
import { knownIs, knownOf, sameFile, stampProven, type Known } from './known.js';
import type { Ledger } from './ledger.js';
import type { EqualHost } from './mirror-equal.js';
import type { ListingView, MirrorSteps } from './mirror-steps.js';

/** A scanned entry the listing showed the target holding as the scan saw it (decide: 'same'). */
export interface SameEntry {
  rel: string;
  st: ScanStat;
  t: ListEntry;
}

/**
 * A SameEntry as the batch holds it: an instance, not an object literal. V8 tenures a literal's
 * allocation site whose objects all survive a young collection (a batch spans one): from then
 * on each entry went straight to the old generation and kept its scan Stats (~1.3 KiB each)
 * alive until a full collection, and a no-change diff mirror of 100k files grew the source's
 * heap by 60-70 MiB of such garbage. (Class instances have no allocation site.)
 */
class HeldEntry implements SameEntry {
  constructor(
    readonly rel: string,
    readonly st: ScanStat,
    readonly t: ListEntry,
  ) {}
}

/** Entries one step settles: a no-change mirror of 100k entries is ~200 steps, not 100k. */
export const SAME_BATCH = 512;

/**
 * Gathers 'same' entries, in scan order, for one step each SAME_BATCH (`send` queues it). A step
 * per entry, its promise, pipeline turn and index batch, was the larger part of a no-change diff
 * mirror's source time. The caller flushes it before queueing any other step, so steps keep
 * the scan's order.
 */
export class SameBatch {
  private items: SameEntry[] = [];

  constructor(private readonly send: (items: SameEntry[]) => void) {}

  add(rel: string, st: ScanStat, t: ListEntry): void {
    this.items.push(new HeldEntry(rel, st, t));
    if (this.items.length >= SAME_BATCH) this.flush();
  }

  flush(): void {
    if (this.items.length) this.send(this.items.splice(0));
  }
}

/**
 * Settles a batch of 'same' entries: those the index already records as the scan saw them (and
 * whose attributes it proves equal to the listed ones) need nothing; the others go through the
 * per-entry step (MirrorSteps.path), one by one, as they did before batching. `sparse`: the
 * entries lie far apart in the index (a checksum mirror's directories, its files compared apart),
 * so each is looked up alone: a cursor read every row between them, the whole tree per batch.
 */
export async function settleSame(
  host: EqualHost,
  steps: Pick<MirrorSteps, 'path'>,
  view: ListingView,
  items: readonly SameEntry[],
  sinceSeq: number,
  sparse = false,
): Promise<void> {
  // The fast pass is synchronous: the index rows read for it stay current while it runs.
  const known = sparse ? (rel: string) => host.ledger.get(rel) : indexCursor(host.ledger, items);
  const rest = items.filter((e) => !knownSame(host, view, e, known));
  for (const e of rest) {
    // One entry's fault must not leave the rest of the batch unsettled.
    await steps
      .path(e.rel, false, e.st, sinceSeq, view, undefined, e.t)
      .catch((err: Error) => host.failed(err));
  }
}

/**
 * Whether the index holds `e` as the scan saw it and as the target lists it, so that the per-entry
 * step (sameAsListed) would only confirm it: no op queued for it since the listing, nothing moved
 * there since, not unsure, the same inode, type, mode (and size and mtime), the stat unchanged
 * since the scan, and the stamp the index proves (its ctime unchanged: no xattr or ACL read) equal
 * to the listed one. Anything else (false) is left to the per-entry step.
 */
function knownSame(
  host: EqualHost,
  view: ListingView,
  e: SameEntry,
  known: (rel: string) => Known | undefined,
): boolean {
  const type = entryType(e.st);
  if (type === null) return false; // a special entry: the per-entry step
  const { ledger } = host;
  try {
    const k = known(e.rel);
    if (!k || k.unsure || k.seq > view.seq || !knownIs(k, e.st, type)) return false;
    if (view.touched(e.rel)) return false;
    const now = lstatOrNull(host.abs(e.rel));
    if (!now || now.dev !== e.st.dev || now.mode !== e.st.mode || !sameFile(now, e.st))
      return false;
    const listed = e.t.attrs;
    if (listed !== undefined) {
      if (k.stamp === undefined || !stampProven(k, now) || !ledger.attrs.same(k.stamp, listed))
        return false;
    }
    ledger.checked(e.rel);
    return true;
  } catch {
    return false; // the per-entry step tries again, and reports what fails there
  }
}

/**
 * The index's entries of a batch's paths, read a page at a time in path order (the scan's): a
 * look-up per entry was a fifth of a no-change diff mirror's source time. Ledger.get's answer for
 * each path asked in ascending order; a path it does not meet (asked out of order too) reads as
 * not indexed, which leaves that entry to the per-entry step.
 */
function indexCursor(
  ledger: Ledger,
  items: readonly SameEntry[],
): (rel: string) => Known | undefined {
  const first = items[0]?.rel;
  if (first === undefined) return () => undefined;
  let rows: Iterator<IndexedPath> | null = null;
  let row: IteratorResult<IndexedPath> | null = null;
  return (rel) => {
    if (rel === first) return ledger.get(rel);
    rows ??= ledger.index.entries({ after: pathKey(first) });
    row ??= rows.next();
    const p = pathKey(rel);
    while (!row.done && comparePaths(row.value.path, p) < 0) row = rows.next();
    if (row.done || !row.value.path.equals(p)) return undefined;
    return knownOf(row.value.entry, ((row.value.flags ?? 0) & DIRTY_UNSURE) !== 0);
  };
}
