// The target's listing, kept true while operations keep flowing. A listing describes the replica
// after one seq; every rename or delete queued after that seq moves or removes entries on the
// target, so an orphan found in the raw listing may since live under another name (a directory
// renamed while a mirror ran), and deleting it under its old name would do nothing.
import type { ListEntry } from '../protocol/listing.js';
import type { WireOp } from '../protocol/ops.js';
import type { Capture } from './capture.js';
import type { PathFilter } from './filter.js';
import type { ListingView } from './mirror-steps.js';
import { ReplicaListing } from './replica-listing.js';

/** A queued operation that moves or removes target paths. */
type PathOp = Extract<WireOp, { kind: 'rename' | 'delete' | 'rmdir' }>;

/** Ops that put something new at paths, replacing a directory the target may hold there. */
function replaces(e: WireOp): string[] {
  if (e.kind === 'put' && e.meta.first) return [e.meta.p];
  if (e.kind === 'files') return e.meta.f.map((f) => f[0]);
  return e.kind === 'symlink' || e.kind === 'link' || e.kind === 'mknod' ? [e.meta.p] : [];
}

/**
 * A listing of the target plus every path-changing operation queued after it. The entries live
 * on disk (replica-listing.ts); what stays in memory grows with the operations queued meanwhile,
 * not with the replica.
 */
export class TargetView implements ListingView {
  /** The listing; it also marks the paths renamed, deleted or replaced on the target since. */
  readonly entries = new ReplicaListing();
  /** Operations seen before the listing said which seq it describes. */
  private early: Array<[PathOp, number]> | null = [];
  private listedSeq = 0;
  /** The listing held nothing: no op can move or replace a listed entry, none is followed. */
  private empty = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly capture: Capture) {
    this.unsubscribe = capture.onEmitted((e, seq) => this.observe(e, seq));
  }

  /** Adds one batch of LIST_ITEMS. */
  add(items: ListEntry[]): void {
    this.entries.add(items);
  }

  /**
   * The listing is complete and describes the replica after `seq`. A target that did not say
   * (none of ours) is taken to have listed after everything queued before its listing ended.
   */
  listed(seq: number | undefined): void {
    this.listedSeq = seq ?? Math.max(0, ...(this.early ?? []).map(([, s]) => s));
    for (const [e, s] of this.early ?? []) if (s > this.listedSeq) this.apply(e);
    this.early = null;
    // (Rows come only before this point: an empty listing stays empty. A mirror into an empty
    // replica then marked every path it sent, a write to the listing's table per file.)
    this.empty = this.entries.size === 0;
  }

  /** The seq the listing describes the target after. */
  get seq(): number {
    return this.listedSeq;
  }

  /**
   * Whether a rename or delete queued after the listing moved or removed `rel` (or a directory
   * above it) on the target: what the listing said of it is then no longer true there. Before the
   * listing said which seq it describes, every such op counts.
   */
  touched(rel: string): boolean {
    for (const [e] of this.early ?? []) this.remember(e);
    return this.entries.markedAt(rel);
  }

  /** Stops following the stream and drops the listing. */
  close(): void {
    this.unsubscribe();
    this.entries.close();
  }

  /**
   * Queues one pipeline step that deletes, on the target, every listed entry still there that
   * is neither on the source nor known (the scan removed from `entries` what it found). Running as
   * one step, it sees the view after every operation queued before it. Returns how many went.
   */
  deleteOrphans(filter: PathFilter, stillWanted: () => boolean): Promise<number> {
    let count = 0;
    return this.capture
      .enqueueStep(async () => {
        if (!stillWanted()) return;
        // Path order puts a directory before its contents; once it went, its subtree leaves the
        // listing, so nothing below it is deleted again. (The walk pages past each deletion.)
        for (const t of this.entries.orphans(filter)) {
          if (!this.entries.has(t.path)) continue; // below one deleted already, or moved since
          if (!(await this.capture.deleteOrphan(t.path))) continue;
          this.entries.deleteTree(t.path);
          count++;
        }
      })
      .then(() => count);
  }

  private observe(e: WireOp, seq: number): void {
    if (this.empty) return;
    if (this.early || seq > this.listedSeq) for (const p of replaces(e)) this.entries.mark(p);
    if (e.kind !== 'rename' && e.kind !== 'delete' && e.kind !== 'rmdir') return;
    if (this.early) this.early.push([e, seq]);
    else if (seq > this.listedSeq) this.apply(e);
  }

  private remember(op: PathOp): void {
    if (op.kind === 'rename') {
      this.entries.mark(op.meta.from);
      this.entries.mark(op.meta.to);
    } else this.entries.mark(op.meta.p);
  }

  private apply(op: PathOp): void {
    this.remember(op);
    if (op.kind !== 'rename') return this.entries.deleteTree(op.meta.p);
    // A rename replaces what was at its destination.
    this.entries.moveTree(op.meta.from, op.meta.to);
  }
}
