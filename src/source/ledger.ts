// What capture has queued, as far as the target is concerned: the known state of each path, the
// block hashes of the last content sent, which seq last touched each path, and the one append
// every operation goes through (which keeps those up to date and tells the subscribers).
import type { Stats } from 'node:fs';
import type { JournalRecord } from '../journal/types.js';
import { log } from '../shared/log.js';
import { BlockCache } from './block-cache.js';
import { KnownState, type Known } from './known-state.js';
import type { QueuedOp } from './queued-op.js';

/** Appends one operation to the journal. */
export type Append = (e: QueuedOp) => Promise<JournalRecord>;

/** The paths a queued op names. */
function pathsOf(e: QueuedOp): string[] {
  if (e.kind === 'rename') return [e.meta.from, e.meta.to];
  return e.kind === 'task' || e.kind === 'mark' ? [] : [e.meta.p];
}

/** Capture's record of what it queued. */
export class Ledger {
  readonly known = new KnownState();
  readonly blocks = new BlockCache();
  private lastSeqOf = new Map<string, number>();
  private emitted = new Set<(e: QueuedOp, seq: number) => void>();

  constructor(private readonly append: Append) {}

  /** Queues one operation. */
  async emit(e: QueuedOp): Promise<JournalRecord> {
    const rec = await this.append(e);
    const paths = pathsOf(e);
    if (log.debugOn) log.debug(`queued ${rec.seq} ${e.kind}`, { paths });
    // Which seq last touched each path: a mirror's basis is valid once that seq is applied.
    for (const p of paths) this.lastSeqOf.set(p, rec.seq);
    for (const fn of this.emitted) fn(e, rec.seq);
    return rec;
  }

  /** The seq of the last operation queued for `rel` (0: none since the stream began). */
  lastSeq(rel: string): number {
    return this.lastSeqOf.get(rel) ?? 0;
  }

  /** Records what the target now has at `rel`: this stat, of this type. */
  record(rel: string, st: Stats, type: Known['type'], link?: string): void {
    this.known.set(rel, {
      type,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      mode: st.mode & 0o7777,
      link,
    });
  }

  /** Nothing is known of `rel` any more (its next check sends it whole). */
  forget(rel: string): void {
    this.known.delete(rel);
    this.blocks.delete(rel);
  }

  /** Nothing is known of `rel` or anything below it (deleted, replaced). */
  forgetTree(rel: string): void {
    this.known.deleteTree(rel);
    this.blocks.deleteTree(rel);
  }

  /** The queue restarted (a new epoch): nothing is known to be on the target, no seq is pending. */
  forgetStream(): void {
    this.known.clear();
    this.lastSeqOf.clear();
  }

  /** Calls `fn` with every operation queued from now on; returns the unsubscribe function. */
  onEmitted(fn: (e: QueuedOp, seq: number) => void): () => void {
    this.emitted.add(fn);
    return () => this.emitted.delete(fn);
  }
}
