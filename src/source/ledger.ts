// What capture has queued, as far as the target is concerned, kept in the connection's index
// (src/index, docs/INDEX.md): the state each path was queued with, the block hashes of the content
// sent, the seq that last touched it; and the one append every operation goes through, which keeps
// the index in step with the journal in the order docs/INDEX.md gives ("Write order").
import {
  DIRTY_CHANGED,
  DIRTY_QUEUING,
  DIRTY_UNSURE,
  type BlockList,
  type PathIndex,
} from '../index/index.js';
import type { JournalRecord } from '../journal/types.js';
import type { WireFile } from '../protocol/files-op.js';
import { log } from '../shared/log.js';
import type { KnownType, ScanStat } from './entry-type.js';
import { pathKey, relOf } from './index-path.js';
import { entryOf, knownOf, provingCtime, type Known } from './known.js';
import { pathsOf, type QueuedOp } from './queued-op.js';
import { NO_ATTRS, readHeld, type EntryAttrs, type HeldStamp } from './entry-attrs.js';

/** Appends one operation to the journal. */
export type Append = (e: QueuedOp) => Promise<JournalRecord>;

/** Hashes of one file's blocks as last sent. */
export type BlockHashes = BlockList;

/** How a record treats the block hashes held: replace them, drop them, or keep them. */
export type BlocksUpdate = BlockHashes | null | 'keep';

/** What `record` is told besides the path, its stat and type. */
export type RecordOptions = { link?: string; blocks: BlocksUpdate; stamp?: HeldStamp | null };

/** One path's state for `recordAll` (what `record` takes). */
export type Recorded = { rel: string; st: ScanStat; type: KnownType } & RecordOptions;

/** One pipeline item's work on the index (see batched). */
interface Batch {
  /** Paths ops were queued for: marked DIRTY_QUEUING before their first append (true), or not. */
  queued: Map<string, boolean>;
  /** Paths whose result is recorded (or removed): their marks go at the end. */
  done: Set<string>;
  /** The seq of the last op queued for each path in this batch. */
  seqs: Map<string, number>;
}

/** Capture's record of what it queued. */
export class Ledger {
  private batch: Batch | null = null;
  private lastAppended: number;
  private indexedSeq: number;
  /** Marks other than a batch's own may exist (restart, reconciliation, an unsure resend). */
  private marks: boolean;
  private isBaseline: boolean;
  private emitted = new Set<(e: QueuedOp, seq: number) => void>();
  /** The attribute stamp each op queued last carried, until its path is recorded. */
  private sentStamp = new Map<string, HeldStamp>();

  /** `attrs`: reads the owner, xattrs, ACLs and ns mtime that entries carry (entry-attrs.ts). */
  constructor(
    readonly index: PathIndex,
    private readonly append: Append,
    lastSeq: number,
    readonly attrs: EntryAttrs = NO_ATTRS,
  ) {
    const meta = index.meta();
    this.lastAppended = lastSeq;
    [this.indexedSeq, this.isBaseline] = [meta.indexedSeq, meta.baseline];
    this.marks = index.dirtyCount() > 0;
  }

  /** The seq of the last operation queued. */
  get lastQueued(): number {
    return this.lastAppended;
  }

  /** Whether every source path was compared with the target once (a path unknown here is new). */
  get baseline(): boolean {
    return this.isBaseline;
  }

  /** Records that a mirror compared every source path with the target. */
  setBaseline(on: boolean): void {
    this.index.setBaseline(on);
    this.isBaseline = on;
  }

  /** What the target holds at `rel` as far as the index knows. */
  get(rel: string): Known | undefined {
    const key = pathKey(rel);
    const e = this.index.get(key);
    if (!e) return undefined;
    return knownOf(e, this.marks && (this.index.dirtyFlags(key) & DIRTY_UNSURE) !== 0);
  }

  /** The block hashes of the content last sent for `rel`. */
  blocks(rel: string): BlockHashes | undefined {
    return this.index.getBlocks(pathKey(rel)) ?? undefined;
  }

  /** The seq of the last operation queued for `rel` (0: none known). */
  lastSeq(rel: string): number {
    return this.index.get(pathKey(rel))?.seq ?? 0;
  }

  /** Every path the index holds with this inode (a renamed file's old name, hard links). */
  pathsOfInode(dev: number, ino: number): string[] {
    return this.index.findByInode(BigInt(dev), BigInt(ino)).map((r) => relOf(r.path));
  }

  /** The paths strictly below `rel`, in path order (read a page at a time). */
  *below(rel: string): Generator<string> {
    for (const r of this.index.entries({ under: pathKey(rel) })) {
      const p = relOf(r.path);
      if (p !== rel) yield p;
    }
  }

  /** What the target now holds at `rel` (a directory replaced takes what was below it along). */
  record(rel: string, st: ScanStat, type: KnownType, o: RecordOptions): void {
    this.recordAll([{ rel, st, type, ...o }]);
  }

  /** record() of many paths in one index transaction: one look-up and no savepoint per path. */
  recordAll(list: readonly Recorded[]): void {
    this.index.putEach(
      list.map((r) => pathKey(r.rel)),
      (i, old) => {
        const { rel, st, type, link, blocks, stamp } = list[i] as Recorded;
        const seq = this.batch?.seqs.get(rel) ?? old?.seq ?? this.lastAppended;
        const sent = this.sentStamp.get(rel);
        this.sentStamp.delete(rel);
        // The attributes last sent, else `stamp` (read by the caller just now), else read here.
        const now = sent ?? (stamp === undefined ? readHeld(this.attrs, rel) : stamp);
        const ctime = now ? (now.ctimeNs ?? provingCtime(st, now.at ?? 0)) : 0n;
        const entry = entryOf(st, type, seq, link, now?.stamp, ctime);
        return { entry, blocks: blocks === 'keep' ? undefined : blocks };
      },
    );
    for (const r of list) this.batch?.done.add(r.rel);
  }

  /** The target may hold something else at `rel`: resend it whole, never as a delta. */
  markUnsure(rel: string): void {
    this.index.markDirty(pathKey(rel), DIRTY_UNSURE);
    this.marks = true;
  }

  /** Whether `rel` is marked unsure: an op for it was queued that the index may not describe. */
  unsureAt(rel: string): boolean {
    return this.marks && (this.index.dirtyFlags(pathKey(rel)) & DIRTY_UNSURE) !== 0;
  }

  /** `rel` changed and is to be looked at again (a reconciliation settles it). */
  markChanged(rel: string): void {
    this.index.markDirty(pathKey(rel), DIRTY_CHANGED);
    this.marks = true;
  }

  /** A check looked at `rel` and decided: its marks are settled with the batch. */
  checked(rel: string): void {
    if (this.marks) this.batch?.done.add(rel);
  }

  /** How many paths are marked to be looked at again (0 also clears the fast path). */
  dirtyCount(): number {
    const n = this.index.dirtyCount();
    this.marks = n > 0;
    return n;
  }

  /**
   * Runs one pipeline item (a path check, a settle, a step) as one batch: every path it queues an
   * op for is marked DIRTY_QUEUING before the first append, and once the item is done its result
   * and the new indexedSeq commit together and the marks go. A batch cut short (kill, exception)
   * leaves its paths marked, so the index never passes off a half-queued state as the target's.
   */
  async batched<T>(fn: () => Promise<T>): Promise<T> {
    if (this.batch) return fn();
    const b: Batch = { queued: new Map(), done: new Set(), seqs: new Map() };
    this.batch = b;
    let ok = false;
    try {
      const r = await fn();
      ok = true;
      return r;
    } finally {
      this.batch = null;
      this.endBatch(b, ok);
    }
  }

  /** emit()'s marks made ahead, in one commit; `fresh` (no entry) go unmarked: docs/INDEX.md. */
  premark(paths: readonly string[], fresh: readonly string[] = []): void {
    const b = this.batch;
    if (!b) return; // (outside a batch emit() makes a batch of its own)
    for (const p of fresh) if (!b.queued.has(p)) b.queued.set(p, false);
    const mark = paths.filter((p) => !b.queued.has(p));
    if (!mark.length) return;
    this.index.transaction(() => {
      for (const p of mark) this.index.markDirty(pathKey(p), DIRTY_QUEUING);
    });
    for (const p of mark) b.queued.set(p, true);
  }

  /** Queues one operation (inside a batch; alone, it is its own batch). */
  async emit(e: QueuedOp): Promise<JournalRecord> {
    const b = this.batch;
    if (!b) return this.batched(() => this.emit(e));
    this.withAttrs(e);
    const paths = pathsOf(e);
    this.premark(paths);
    const rec = await this.append(e);
    this.lastAppended = Math.max(this.lastAppended, rec.seq);
    if (log.debugOn) log.debug(`queued ${rec.seq} ${e.kind}`, { paths });
    for (const p of paths) b.seqs.set(p, rec.seq);
    this.applyStructure(e, rec.seq, b);
    for (const fn of this.emitted) fn(e, rec.seq);
    return rec;
  }

  /** The queue restarted (a new epoch): entries stay as evidence, every one unsure. */
  restartStream(epoch: number): void {
    this.index.restartStream(epoch);
    this.sentStamp.clear();
    this.lastAppended = 0;
    this.indexedSeq = 0;
    this.isBaseline = false;
    this.marks = true;
  }

  /** The attribute stamp of what the op about to be queued carries for `rel` (read by the caller). */
  carrying(rel: string, held: HeldStamp): void {
    this.sentStamp.set(rel, { stamp: held.stamp, at: held.at, ctimeNs: held.ctimeNs });
  }

  /** Calls `fn` with every operation queued from now on; returns the unsubscribe function. */
  onEmitted(fn: (e: QueuedOp, seq: number) => void): () => void {
    this.emitted.add(fn);
    return () => this.emitted.delete(fn);
  }

  /** Adds the entry's attributes to an op that creates it or ends its data. */
  private withAttrs(e: QueuedOp): void {
    if (e.kind === 'files') return this.filesAttrs(e.meta.f);
    const carries =
      e.kind === 'mkdir' ||
      e.kind === 'symlink' ||
      e.kind === 'mknod' ||
      e.kind === 'attr' ||
      ((e.kind === 'put' || e.kind === 'write' || e.kind === 'delta') && e.meta.end === true);
    if (!carries || e.meta.a) return;
    const got = this.attrs.read(e.meta.p);
    if (!got) return;
    e.meta.a = got.a;
    this.carrying(e.meta.p, got);
  }

  /** Each file of a `files` op carries its attributes as its fifth element. */
  private filesAttrs(files: WireFile[]): void {
    files.forEach((f, i) => {
      const got = f.length === 4 ? this.attrs.read(f[0]) : null;
      if (!got) return;
      files[i] = [f[0], f[1], f[2], f[3], got.a];
      this.carrying(f[0], got);
    });
  }

  /** Deletes and renames change which paths the target holds at once (in the index too). */
  private applyStructure(e: QueuedOp, seq: number, b: Batch): void {
    if (e.kind === 'delete' || e.kind === 'rmdir') {
      this.sentStamp.delete(e.meta.p);
      this.index.deleteTree(pathKey(e.meta.p), seq);
      b.done.add(e.meta.p);
    } else if (e.kind === 'rename') {
      this.index.renameTree(pathKey(e.meta.from), pathKey(e.meta.to), seq);
      b.done.add(e.meta.from);
    }
  }

  private endBatch(b: Batch, ok: boolean): void {
    const idx = this.index;
    const next = Math.max(this.indexedSeq, this.lastAppended);
    let unsure = false;
    idx.transaction(() => {
      for (const [p, marked] of b.queued) {
        if (ok && b.done.has(p)) continue; // recorded: every mark goes below (unmarked: none)
        const key = pathKey(p); // queued, not recorded: the target may hold what no entry says
        idx.markDirty(key, DIRTY_UNSURE);
        unsure = true;
        if (marked) idx.clearDirty(key, DIRTY_QUEUING);
      }
      const cleared = ok ? [...b.done].filter((p) => this.marks || b.queued.get(p) !== false) : [];
      for (const p of cleared) idx.clearDirty(pathKey(p));
      if (next > this.indexedSeq) idx.setIndexedSeq(next);
    });
    this.indexedSeq = next;
    // Reads skip the index's marks while none are known: an unsure mark must end that.
    if (unsure) this.marks = true;
  }
}
