// Entries a mirror finds equal on the target, settled many per pipeline step: the checksum
// mirror's files proven equal (recorded in the index at once when nothing is to be sent for them,
// the rest left to the per-file step, MirrorSteps.same), and the entries whose listing matched the
// scan (SameBatch: the index already says so, or the per-entry step, MirrorSteps.path).
import type { Stats } from 'node:fs';
import type { BlockHashes, SeenStat } from '../delta/index.js';
import { comparePaths, DIRTY_UNSURE, type IndexedPath } from '../index/index.js';
import type { ListEntry } from '../protocol/listing.js';
import { lstatOrNull } from '../shared/fsutil.js';
import type { HeldStamp, StatStamp } from './entry-attrs.js';
import { entryType } from './entry-type.js';
import { pathKey } from './index-path.js';
import { knownIs, knownOf, sameFile, stampProven, type Known } from './known.js';
import type { Ledger } from './ledger.js';
import { attrsDiffer } from './mirror-file.js';
import type { Candidate } from './mirror-sums.js';
import type { Listed, ListingView, MirrorSteps } from './mirror-steps.js';

/** What recording equal files needs of the capture pipeline. */
export interface EqualHost {
  readonly ledger: Ledger;
  abs(rel: string): string;
  failed(err: Error): void;
}

/**
 * Settles a batch of files proven equal on the target: most recorded at once (recordEqual), the
 * rest one by one through `same` (MirrorSteps.same: attributes to send, or changed since).
 */
export async function settleEqual(
  host: EqualHost,
  same: Pick<MirrorSteps, 'same'>,
  equal: Array<[Candidate, BlockHashes]>,
  sinceSeq: number,
): Promise<void> {
  for (const [b, mine] of recordEqual(host, equal, sinceSeq)) {
    // One file's fault must not leave the rest of the batch unrecorded.
    await same.same(b.rel, b.st, b.t, mine, sinceSeq).catch((err: Error) => host.failed(err));
  }
}

/**
 * Records, in one index transaction, the files of a batch proven equal on the target that need
 * nothing sent: unchanged since they were hashed, no op queued for them since `sinceSeq`, and the
 * target's mode, mtime and attribute stamp as listed equal to ours. (A step per file, its own
 * transaction and writes for rows that did not change were half of the source's time in a
 * no-change checksum mirror.) Returns the others, for the per-file step (MirrorSteps.same),
 * which sends their attributes or the file again.
 */
export function recordEqual(
  host: EqualHost,
  equal: Array<[Candidate, BlockHashes]>,
  sinceSeq: number,
): Array<[Candidate, BlockHashes]> {
  const { ledger } = host;
  const rest: Array<[Candidate, BlockHashes]> = [];
  ledger.index.transaction(() => {
    for (const item of equal) {
      const [b, hashes] = item;
      try {
        const k = ledger.get(b.rel);
        const held = heldIfUnchanged(host, b, k, sinceSeq);
        if (!held || attrsDiffer(b.st, b.t) || !listedAttrsSame(ledger, held.stamp, b.t))
          rest.push(item);
        else if (recorded(ledger, b, k, held, hashes)) ledger.checked(b.rel);
        else ledger.record(b.rel, b.st, 'file', { blocks: hashes, stamp: held });
      } catch {
        rest.push(item); // the per-file step tries again, and reports what fails there
      }
    }
  });
  return rest;
}

/**
 * The file as the scan saw it when hashed (so the scan's stat is what is recorded: the stat taken
 * on the open file after the read, `b.seen`, else one lstat now) and no op queued for it since
 * `sinceSeq`, with its attribute stamp — the index's, where its ctime proves it still holds (no
 * xattr/ACL read), else read with a second lstat. Null: changed, queued since, or gone. (A change
 * after the hashing is the watcher's, or the next mirror's: the index records what was hashed.)
 */
function heldIfUnchanged(
  host: EqualHost,
  b: Candidate,
  k: Known | undefined,
  sinceSeq: number,
): HeldStamp | null {
  const { ledger } = host;
  if ((k?.seq ?? 0) > sinceSeq) return null;
  const st = b.seen ?? lstatOrNull(host.abs(b.rel));
  if (!st || !unchanged(statFields(st), b.st)) return null;
  if (k?.stamp !== undefined && stampProven(k, st)) return { stamp: k.stamp, ctimeNs: k.ctimeNs };
  const now = ledger.attrs.statStamp(b.rel);
  return now && unchanged(now, b.st) ? now : null;
}

/**
 * Whether the index holds already what recording an equal file would write (ledger.record): the
 * scan's stat, the stamp its ctime proves, and these block hashes — the steady state of a
 * no-change checksum mirror. Then nothing is recorded: the index's own comparison (before its
 * write) comes after two more look-ups and a savepoint per file. The block hashes are compared:
 * content rewritten at equal size and mtime must replace them.
 */
function recorded(
  ledger: Ledger,
  b: Candidate,
  k: Known | undefined,
  held: HeldStamp,
  mine: BlockHashes,
): boolean {
  if (!k || k.unsure || !knownIs(k, b.st, 'file')) return false;
  // A stamp read afresh (not proven by the ctime held) may be recorded with a new ctime.
  if (held.ctimeNs === undefined || held.stamp !== k.stamp || held.ctimeNs !== k.ctimeNs)
    return false;
  const have = ledger.blocks(b.rel);
  if (!have || have.blockSize !== mine.blockSize || have.size !== mine.size) return false;
  const a = have.hashes;
  const m = mine.hashes;
  if (a.length !== m.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== m[i]) return false;
  return true;
}

/** The fields `unchanged` compares, from a plain lstat. */
function statFields(st: SeenStat): StatFields {
  const type = st.isFile() ? 'file' : 'other';
  return {
    type,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

type StatFields = Pick<StatStamp, 'ino' | 'size' | 'mtimeMs' | 'mode' | 'uid' | 'gid'> & {
  type: string;
};

/** Nothing the index records of a file changed since the scan's stat `st` (nor while hashing). */
function unchanged(now: StatFields, st: Stats): boolean {
  return (
    now.type === 'file' &&
    now.ino === st.ino &&
    now.size === st.size &&
    now.mtimeMs === st.mtimeMs &&
    now.mode === (st.mode & 0o7777) &&
    now.uid === st.uid &&
    now.gid === st.gid
  );
}

/** Whether the target's listed attribute stamp is ours (an older target lists none). */
function listedAttrsSame(ledger: Ledger, mine: string, listed: Listed): boolean {
  return listed.attrs === undefined || ledger.attrs.same(mine, listed.attrs);
}

/** A scanned entry the listing showed the target holding as the scan saw it (decide: 'same'). */
export interface SameEntry {
  rel: string;
  st: Stats;
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
    readonly st: Stats,
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

  add(rel: string, st: Stats, t: ListEntry): void {
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
