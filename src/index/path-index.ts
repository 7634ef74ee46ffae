// The durable index of what the target holds, for one connection: one SQLite file (docs/INDEX.md).
// Synchronous, like SQLite itself: each call takes microseconds, and a batch of them inside
// `transaction` commits once. Every error is an SmrError (sqlite.ts says which code).
import { SmrError } from '../shared/errors.js';
import { keyAfter, scan, scanChildren, type PageReader } from './cursors.js';
import { DirtySet, withDirtyPath } from './dirty-set.js';
import { EntryStore, withPath, type Built, type KeyRange, type KeyedEntry } from './entry-store.js';
import { IndexDb } from './index-db.js';
import { MetaStore } from './meta-store.js';
import { StampsAhead } from './stamps-ahead.js';
import { fromKey, isWithin, subtreeRange as subtree, toKey } from './path-key.js';
import { RecordedFile, type FileAsFound } from './recorded-file.js';
import { StampPages } from './stamp-pages.js';
import { Tombstones } from './tombstones.js';
import {
  DIRTY_ALL,
  DIRTY_CHANGED,
  DIRTY_UNSURE,
  type BlockList,
  type DirtyPath,
  type IndexEntry,
  type IndexMeta,
  type IndexOptions,
  type IndexedPath,
  type Tombstone,
} from './types.js';

/** The index of one connection. */
export class PathIndex {
  private readonly entriesStore: EntryStore;
  private readonly dirtySet: DirtySet;
  private readonly tombstones: Tombstones;
  private readonly metaStore: MetaStore;
  private recorded?: RecordedFile;
  private readonly readPage: PageReader<KeyedEntry> = (lo, hi, n) =>
    this.guard(() => this.entriesStore.page(lo, hi, n));

  private constructor(private readonly idb: IndexDb) {
    this.entriesStore = new EntryStore(idb.db);
    this.dirtySet = new DirtySet(idb.db);
    this.tombstones = new Tombstones(idb.db);
    this.metaStore = new MetaStore(idb.db);
  }

  /** Opens (or creates) the index file; a crash's torn WAL tail is discarded here by SQLite. */
  static open(file: string, opts: IndexOptions = {}): PathIndex {
    return new PathIndex(IndexDb.open(file, opts));
  }

  /** The database file. */
  get file(): string {
    return this.idb.file;
  }

  /** Closes the file (SQLite checkpoints the WAL into it). */
  close(): void {
    this.idb.close();
  }

  /**
   * Runs `fn` (synchronous) in one transaction: all of it commits, or none if it throws; nested
   * calls are savepoints. Commits survive a kill; a power loss may take the last (`setAckedSeq`).
   */
  transaction<T>(fn: () => T): T {
    return this.idb.transaction(fn);
  }

  /** The entry at `path`, or null. */
  get(path: Buffer): IndexEntry | null {
    return this.guard(() => this.entriesStore.get(toKey(path)));
  }

  /** The block hashes held for the file at `path`, or null. */
  getBlocks(path: Buffer): BlockList | null {
    return this.guard(() => this.entriesStore.getBlocks(toKey(path)));
  }

  /** Whether the file at `path` is recorded exactly as `f` says (recorded-file.ts: one query). */
  readonly holdsFile = (path: Buffer, f: FileAsFound): boolean =>
    (this.recorded ??= new RecordedFile(this.idb)).holds(path, f);

  /**
   * Records `entry` at `path`. Block hashes: omitted keeps those held (attributes-only change),
   * null drops them, a list replaces them; only files keep any. False: held already, not written.
   */
  put(path: Buffer, entry: IndexEntry, blocks?: BlockList | null): boolean {
    return this.idb.transaction(() => this.entriesStore.put(toKey(path), entry, blocks));
  }

  /**
   * Records one entry per path in one transaction, no savepoint each (EntryStore.putOver): `make`
   * gets the entry held at path `i` (null: none) and returns what to record (blocks as in `put`).
   */
  putEach(paths: readonly Buffer[], make: (i: number, old: IndexEntry | null) => Built): void {
    const [store, ts] = [this.entriesStore, this.tombstones];
    this.idb.transaction(() => paths.forEach((p, i) => store.putOver(toKey(p), i, make, ts)));
  }

  /** Forgets the one entry at `path` (deleted by the op `seq`); false when there was none. */
  delete(path: Buffer, seq: number): boolean {
    const key = toKey(path);
    return this.idb.transaction(() => {
      const found = this.entriesStore.deleteOne(key);
      if (found) this.tombstones.add(key, seq);
      return found;
    });
  }

  /** Forgets `path` and all below it (deleted by the op `seq`), marks too; returns how many. */
  deleteTree(path: Buffer, seq: number): number {
    const key = toKey(path);
    return this.idb.transaction(() => {
      const n = this.entriesStore.deleteRange(subtree(key));
      if (n > 0) this.tombstones.add(key, seq);
      if (key.length > 0) this.dirtySet.unmarkTree(key, DIRTY_CHANGED | DIRTY_UNSURE);
      return n;
    });
  }

  /** Moves `from` and all below it to `to` (op `seq` renamed it), over what was there; marks too. */
  renameTree(from: Buffer, to: Buffer, seq: number): number {
    const fk = toKey(from);
    const tk = toKey(to);
    if (fk.equals(tk)) return 0;
    if (fk.length === 0 || tk.length === 0 || isWithin(to, from) || isWithin(from, to)) {
      const [a, b] = [from, to].map((p) => JSON.stringify(p.toString()));
      throw new SmrError('usage', `index: cannot rename ${a} to ${b}`);
    }
    return this.idb.transaction(() => {
      const src = subtree(fk) as KeyRange;
      if (this.entriesStore.deleteRange(subtree(tk)) > 0) this.tombstones.add(tk, seq);
      const moved = this.entriesStore.renameRange(src, fk, tk, seq);
      this.dirtySet.moveRange(src, fk, tk);
      if (moved > 0) this.tombstones.add(fk, seq);
      return moved;
    });
  }

  /** The entries directly inside the directory `dir` (empty: the root), in path order. */
  *children(dir: Buffer): Generator<IndexedPath> {
    for (const r of scanChildren(this.readPage, toKey(dir))) yield withPath(r);
  }

  /**
   * Every entry in path order — depth first, siblings by name bytes (`comparePaths`) — within
   * `under` (itself included) when given, starting after `after` when given. Memory: one page.
   */
  *entries(opts: { under?: Buffer; after?: Buffer } = {}): Generator<IndexedPath> {
    const range = subtree(toKey(opts.under ?? Buffer.alloc(0)));
    let lo = range?.lo ?? Buffer.alloc(0);
    const after = opts.after && keyAfter(toKey(opts.after));
    if (after && Buffer.compare(after, lo) > 0) lo = after;
    for (const r of scan(this.readPage, lo, range?.hi ?? null)) yield withPath(r);
  }

  /** What a reconciliation compares, in key order (path-key.ts), read ahead (stamps-ahead.ts). */
  stampsAhead(inlineRows?: number): StampsAhead {
    return new StampsAhead(this.idb, inlineRows);
  }
  /** The same rows kept packed, built while nothing else writes (stamp-pages.ts). */
  readonly stampPages = (): StampPages => new StampPages(this.idb);

  /** Every path holding this inode (hard links, or the old name of a renamed file). */
  findByInode(dev: bigint, ino: bigint): IndexedPath[] {
    return this.guard(() => this.entriesStore.byInode(dev, ino)).map(withPath);
  }

  /** How many entries lie within `under` (itself included), or with `to` from `under` to `to`. */
  count(under?: Buffer, to?: Buffer): number {
    const key = toKey(under ?? Buffer.alloc(0));
    const range = to ? { lo: key, hi: keyAfter(toKey(to)) } : subtree(key);
    return this.guard(() => this.entriesStore.count(range));
  }

  /** Adds reasons (DIRTY_* bits, default DIRTY_CHANGED) to look at `path` again. */
  markDirty(path: Buffer, flags = DIRTY_CHANGED): void {
    this.guard(() => this.dirtySet.mark(toKey(path), flags));
  }

  /** Takes reasons (default: all) off `path`. */
  clearDirty(path: Buffer, flags = DIRTY_ALL): void {
    // (No savepoint: each of unmark's statements leaves the marks whole on its own.)
    this.guard(() => this.dirtySet.unmark(toKey(path), flags));
  }

  /** The reasons `path` is dirty for (0: it is not). */
  dirtyFlags(path: Buffer): number {
    return this.guard(() => this.dirtySet.flags(toKey(path)));
  }

  /** Dirty paths with any of `flags` (default: all), in path order. Memory: one page. */
  *dirtyPaths(flags = DIRTY_ALL): Generator<DirtyPath> {
    const read = (lo: Buffer, _hi: Buffer | null, n: number) =>
      this.guard(() => this.dirtySet.page(lo, flags, n));
    for (const d of scan(read, Buffer.alloc(0), null)) yield withDirtyPath(d);
  }

  /** Up to `limit` paths marked with any of `flags`, in path order, after `after` (null: all). */
  dirtyPage(after: Buffer | null, flags: number, limit: number): DirtyPath[] {
    const lo = after === null ? Buffer.alloc(0) : keyAfter(toKey(after));
    return this.guard(() => this.dirtySet.page(lo, flags, limit)).map(withDirtyPath);
  }

  /** How many paths are dirty with any of `flags` (default: all). */
  dirtyCount(flags = DIRTY_ALL): number {
    return this.guard(() => this.dirtySet.count(flags));
  }

  /** Marks DIRTY_UNSURE each entry touched by an op after `seq` (a power loss took them). */
  markUnsureAbove(seq: number): number {
    return this.guard(() => this.dirtySet.markEntriesAbove(seq, DIRTY_UNSURE));
  }

  /** Subtrees deleted or moved by ops after `seq` that the target may still hold, in path order. */
  *tombstonesAbove(seq: number): Generator<Tombstone> {
    const read = (lo: Buffer, _hi: Buffer | null, n: number) =>
      this.guard(() => this.tombstones.page(seq, lo, n));
    for (const t of scan(read, Buffer.alloc(0), null)) yield { path: fromKey(t.key), seq: t.seq };
  }

  /** The epoch and seqs the index is in step with. */
  meta(): IndexMeta {
    return this.guard(() => this.metaStore.read());
  }

  /** Records that every journal record up to `seq` is reflected in the index. */
  setIndexedSeq(seq: number): void {
    this.guard(() => this.metaStore.set('indexedSeq', seq));
  }

  /**
   * Records the target's acknowledgement up to `seq`, forgets the tombstones it covers, and makes
   * every earlier commit durable (one fsync). Call it before the journal trims up to `seq`, and
   * outside a batch: then no power loss can take from the index what the journal no longer holds.
   * `soon`: the fsync runs in the thread pool, the promise resolves once it is done (durableSoon).
   */
  setAckedSeq(seq: number): void;
  setAckedSeq(seq: number, soon: true): Promise<void>;
  setAckedSeq(seq: number, soon = false): void | Promise<void> {
    const ack = (): void => {
      const acked = Math.max(seq, this.metaStore.read().ackedSeq);
      this.metaStore.set('ackedSeq', acked); // written even when unchanged: the commit must sync
      this.tombstones.trim(acked);
    };
    return soon ? this.idb.durableSoon(ack) : this.idb.durable(ack);
  }

  /** Records which connection epoch the index describes (its rows are kept). */
  setEpoch(epoch: number): void {
    this.guard(() => this.metaStore.set('epoch', epoch));
  }

  /** Records whether every source path was compared with the target once (see IndexMeta). */
  setBaseline(on: boolean): void {
    this.guard(() => this.metaStore.set('baseline', on ? 1 : 0));
  }

  /** Empties the index for a new epoch (a remirror starts over): entries, marks, tombstones. */
  reset(epoch: number): void {
    this.idb.transaction(() => {
      this.entriesStore.deleteRange(null);
      this.dirtySet.clear();
      this.tombstones.clear();
      this.startStream(epoch);
    });
  }

  /**
   * A new stream (epoch) begins, the entries kept as evidence of what smr put on the target: each
   * DIRTY_UNSURE (the target's state is unknown) with seq 0; tombstones, seqs and baseline reset.
   */
  restartStream(epoch: number): void {
    this.idb.transaction(() => {
      this.dirtySet.markEntriesAbove(-1, DIRTY_UNSURE);
      this.entriesStore.zeroSeqs();
      this.tombstones.clear();
      this.startStream(epoch);
    });
  }

  /** Every mark with any of `from` gets the reasons `to` instead (DIRTY_QUEUING → DIRTY_UNSURE at open). */
  promoteDirty(from: number, to: number): number {
    return this.idb.transaction(() => this.dirtySet.promote(from, to));
  }

  private startStream(epoch: number): void {
    this.metaStore.set('epoch', epoch);
    for (const k of ['indexedSeq', 'ackedSeq', 'baseline'] as const) this.metaStore.set(k, 0);
  }

  /** SQLite's full integrity check: the problems found (none: an empty list). */
  integrityCheck(): string[] {
    return this.idb.integrityCheck();
  }

  private guard<T>(fn: () => T): T {
    return this.idb.guard(fn);
  }
}
