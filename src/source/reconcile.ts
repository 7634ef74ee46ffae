// Reconciliation: the source tree compared with the index (what the target holds because smr sent
// it), never with a listing of the target. It runs when the source starts (changes made while it
// was down, or captured but never acknowledged), as the barrier of `wait` and `queue-task`, as the
// periodic rescan, and before a mirror lists the target. docs/INDEX.md ("Integration") and
// docs/ARCHITECTURE.md ("Restart") say why each step is where it is.
//
// 1. Walk the disk in path order merged with the index's entries: a changed path is hinted (a
//    check queues what differs); a path only on disk is hinted (new, or the new name of an entry
//    its inode is found under); a path only in the index is marked DIRTY_CHANGED, on disk.
// 2. Wait until those checks ran: every new name has been seen, so renames are renames.
// 3. What is still marked and gone from the source would be deleted: counted, put to the brake
//    (src/source/brake.ts), then hinted (deleted after their rename window), or held with the reason.
//    Before it holds, phases 1 and 2 run once more (a directory moved during the walk).
import path from 'node:path';
import { DIRTY_CHANGED, DIRTY_UNSURE, fromKey, type StampRow } from '../index/index.js';
import { lstatOrNull, readlinkNameSync } from '../shared/fsutil.js';
import { nameFromBytes } from '../shared/name-bytes.js';
import { deletionBrake } from './brake.js';
import { entryType } from './entry-type.js';
import type { PathFilter } from './filter.js';
import { relOf, within } from './index-path.js';
import { knownOf, rowCtimeProves, rowIs, sameInode } from './known.js';
import type { Ledger } from './ledger.js';
import type { Skipped } from './skipped.js';
import type { WalkStat } from './stat-pool.js';
import { walkCursor, type WalkCursor } from './walk-chunks.js';
import { nextTurn, YIELD_EVERY } from '../shared/yield.js';

/** What a reconciliation works through: the capture pipeline. */
export interface ReconcileHost {
  readonly base: string;
  readonly filter: PathFilter;
  readonly ledger: Ledger;
  /** A hint that `rel` may differ from what the index says; `force` resends it whole. */
  hint(rel: string, force?: boolean): void;
  /** Resolves once everything queued before the call has run. */
  drain(): Promise<void>;
  /** Turns every pending disappearance into its delete now. */
  flushGone(): Promise<void>;
  /** Items waiting in the pipeline. */
  readonly backlog: number;
  /** What is not replicated (an unreadable directory), counted and logged. */
  readonly skipped: Skipped;
}

/** How one reconciliation runs. */
export interface ReconcileOptions {
  /** Paths only on disk: 'all' are new; 'renames': only those whose inode the index holds. */
  unknown: 'all' | 'renames';
  /** Deletions pass the brake (restart, mirror, and every pass while one is held). */
  brake: boolean;
  /** `--force`: the brake lets everything through. */
  force?: boolean;
  /** Hears of each directory right before the walk lists it (a restart places the watches). */
  beforeList?: (rel: string, st: WalkStat) => void;
}

/** What a reconciliation found. */
export interface ReconcileResult {
  /** Entries (with what is below them) found gone from the source. */
  deletes: number;
  /** Entries walked on the source. */
  sourceEntries: number;
  /** Why the deletions were held back, or null. */
  held: string | null;
}

/** The root's index path: marked, every path is to be looked at again. */
const ROOT = Buffer.alloc(0);

/** upTo's answer when the index page is used up (compare answers are -1, 0, 1 or a difference). */
const NEED = Number.NEGATIVE_INFINITY;

/** Checks queued while the walk goes on, at most (the walk waits for the pipeline beyond this). */
const MAX_BACKLOG = 2000;

/** Reconciliations of one connection, one at a time. */
export class Reconciler {
  /** Why deletions found gone are held back by the brake (null: none are). */
  held: string | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** The restart's reconciliation runs (Infinity) or its ops are unacknowledged up to this seq. */
  private restartUntil: number | null = null;
  private restartPass: Promise<ReconcileResult> | null = null;

  constructor(private readonly host: ReconcileHost) {}

  /**
   * The reconciliation a restarted source runs. Until the target acknowledged everything it
   * queued, the replica may show a later change without an earlier one (reconciliation queues in
   * path order, not in the order things happened while the source was down): `reconciling`.
   */
  async restart(o: ReconcileOptions): Promise<ReconcileResult> {
    this.restartUntil = Infinity;
    const pass = this.run(o);
    this.restartPass = pass;
    try {
      return await pass;
    } finally {
      this.restartPass = null;
      this.restartUntil = this.host.ledger.lastQueued;
    }
  }

  /** The restart's reconciliation while it runs, or null (restart-barrier.ts). */
  get runningRestart(): Promise<ReconcileResult> | null {
    return this.restartPass;
  }

  /** Whether the restart's reconciliation runs or awaits acknowledgement (`acked`: the target's seq). */
  reconciling(acked: number): boolean {
    return this.restartUntil !== null && acked < this.restartUntil;
  }

  /** Runs one reconciliation after any still running. */
  run(o: ReconcileOptions): Promise<ReconcileResult> {
    const next = this.chain.then(() => this.pass(o));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async pass(o: ReconcileOptions): Promise<ReconcileResult> {
    const { index } = this.host.ledger;
    // Marked when events may have been lost (Capture.lost): this whole walk settles it.
    const everything = index.dirtyFlags(ROOT) !== 0;
    let sourceEntries = await this.walk(o);
    await this.host.drain();
    let deletes = this.sweep();
    const brake = o.brake || this.held !== null;
    // A directory moved while the walk went on, to a name the walk had already passed, looks gone
    // until its new name is checked (its watcher event may still be on its way): before the brake
    // holds, one more walk finds the new names, and renames are renames.
    if (brake && this.refusal(deletes, sourceEntries, o)) {
      sourceEntries = await this.walk(o);
      await this.host.drain();
      deletes = this.sweep();
    }
    this.held = brake ? this.refusal(deletes, sourceEntries, o) : null;
    if (!this.held) for (const rel of this.goneMarked()) this.host.hint(rel);
    await this.host.drain();
    await this.host.flushGone();
    if (everything) index.clearDirty(ROOT);
    return { deletes, sourceEntries, held: this.held };
  }

  /** Why the brake would hold `deletes` now, or null. */
  private refusal(deletes: number, sourceEntries: number, o: ReconcileOptions): string | null {
    // Nothing to delete is never held: the count of every entry (a scan of the whole table, 1.5%
    // of a no-change restart) is taken only when there is something to weigh it against.
    if (deletes === 0) return null;
    return deletionBrake({
      deletes,
      targetEntries: this.host.ledger.index.count(),
      sourceEntries,
      base: this.host.base,
      force: o.force,
    });
  }

  /**
   * Phase 1: the merged walk. Returns how many source entries it saw. Both sides in key order
   * (the walk compares each entry's key from its name's bytes), read in place: a path, a key or
   * an object is built only for the few entries that are hinted or gone.
   */
  private async walk(o: ReconcileOptions): Promise<number> {
    const { ledger } = this.host;
    // Read ahead on a worker, a packed page at a time; `row` reads the current one in place.
    const rows = ledger.index.stampsAhead();
    const row = rows.row;
    let protect: string | null = null; // an unreadable entry: nothing at or below it is gone
    let goneDir: string | null = null; // a gone directory: its entries go with it
    let seen = 0;
    let steps = 0;
    const gone = (): void => {
      const rel = relOf(fromKey(row.key));
      if (rel === '' || (protect !== null && within(rel, protect))) return;
      if (goneDir !== null && within(rel, goneDir)) return;
      ledger.markChanged(rel);
      goneDir = row.type === 'dir' ? rel : null;
    };
    // Workers list the directories ahead (walk-chunks.ts).
    const walk = await walkCursor(this.host.base, this.host.filter, o.beforeList);
    // Index rows before the walk's entry that it did not see are gone; then how the next row
    // compares with the entry (NEED: the page is used up).
    const upTo = (): number => {
      for (; rows.has(); rows.advance()) {
        const c = walk.compareKey(row.keys, row.keyStart, row.keyEnd);
        if (c >= 0) return c;
        gone();
      }
      return NEED;
    };
    try {
      for (let s = walk.advance(); s >= 0; s = walk.advance()) {
        if (s === 0) {
          await walk.ready();
          continue;
        }
        if (++steps % YIELD_EVERY === 0) await nextTurn(); // events, acks, the pipeline
        let c = upTo(); // judged under the protection before, when unreadable
        while (c === NEED) c = (await rows.more()) ? upTo() : 1;
        if (walk.unreadable !== null) {
          const what = `cannot read it (${walk.unreadable}): nothing at or below it is replicated`;
          this.host.skipped.skip(walk.rel || '.', 'unreadable', what);
          protect = walk.rel;
          continue;
        }
        seen++;
        if (c === 0) {
          this.compare(row, walk);
          rows.advance();
        } else this.diskOnly(walk, o);
        if (this.host.backlog > MAX_BACKLOG) await this.host.drain();
      }
      // What the walk did not reach is gone, a page at a time.
      do for (; rows.has(); rows.advance()) gone();
      while (await rows.more());
    } finally {
      walk.close();
      rows.close();
    }
    return seen;
  }

  /** On both sides: hinted when anything capture compares differs, or the target is unsure. */
  private compare(row: StampRow, d: WalkCursor): void {
    const type = entryType(d.st);
    // The flags come with the row's page: a query per entry was a tenth of a no-change restart.
    let differs = !type || !rowIs(row, d.st, type) || row.flags !== 0;
    if (!differs && type === 'symlink')
      differs = this.readlink(d.rel) !== (row.link === null ? undefined : nameFromBytes(row.link));
    if (!differs && this.restartUntil === Infinity) differs = attrsMoved(this.host.ledger, d, row);
    if (differs) this.host.hint(d.rel, (row.flags & DIRTY_UNSURE) !== 0);
  }

  /** Only on disk: new (when unknown paths count), or the new name of a path the index holds. */
  private diskOnly(d: WalkCursor, o: ReconcileOptions): void {
    if (o.unknown === 'all') return this.host.hint(d.rel);
    const { ledger } = this.host;
    for (const from of ledger.pathsOfInode(d.st.dev, d.st.ino)) {
      const there = lstatOrNull(this.abs(from));
      if (!there || !sameInode({ dev: there.dev, ino: there.ino }, d.st))
        return this.host.hint(d.rel);
    }
  }

  /**
   * Phase 3: every marked path. Back on disk (or never gone): hinted. Gone and still in the index:
   * counted with everything below it, as what deleting it would take from the target.
   */
  private sweep(): number {
    const { index } = this.host.ledger;
    let deletes = 0;
    for (const m of index.dirtyPaths(DIRTY_CHANGED | DIRTY_UNSURE)) {
      const rel = relOf(m.path);
      if (!lstatOrNull(this.abs(rel)) && index.get(m.path) && (m.flags & DIRTY_CHANGED) !== 0)
        deletes += index.count(m.path);
      else this.host.hint(rel, (m.flags & DIRTY_UNSURE) !== 0);
    }
    return deletes;
  }

  /** Marked paths gone from the source that the index still holds (deleted once hinted). */
  private *goneMarked(): Generator<string> {
    const { index } = this.host.ledger;
    for (const m of index.dirtyPaths(DIRTY_CHANGED)) {
      const rel = relOf(m.path);
      if (!lstatOrNull(this.abs(rel)) && index.get(m.path)) yield rel;
    }
  }

  private readlink(rel: string): string | undefined {
    try {
      return readlinkNameSync(this.abs(rel));
    } catch {
      return undefined;
    }
  }

  private abs(rel: string): string {
    return path.join(this.host.base, ...rel.split('/'));
  }
}

/**
 * A chown, setfattr or setfacl made while the source was down changes the ctime alone. The
 * ctime the index proved the stamp with, unchanged, says nothing moved; without one (rows of an
 * older index, or written moments after a change), a ctime past the mtime has the attributes read
 * and their stamp compared with the index's.
 */
function attrsMoved(ledger: Ledger, d: WalkCursor, row: StampRow): boolean {
  const { st } = d;
  if (!row.stamped || rowCtimeProves(row, st)) return false;
  if (row.ctimeNs === 0 && st.ctimeMs <= st.mtimeMs) return false;
  // The stamp itself, with the whole entry, only for the few rows it is compared for.
  const held = ledger.index.get(fromKey(row.key));
  if (!held) return true; // gone from the index meanwhile: capture's check says what to do
  const now = ledger.attrs.stamp(d.rel);
  return now !== null && now !== knownOf(held, false).stamp;
}
