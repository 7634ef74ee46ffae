// The target's listing, kept true while operations keep flowing. A listing describes the replica
// after one seq; every rename or delete queued after that seq moves or removes entries on the
// target, so an orphan found in the raw listing may since live under another name (a directory
// renamed while a mirror ran), and deleting it under its old name would do nothing.
import type { ListEntry } from '../protocol/listing.js';
import type { WireOp } from '../protocol/ops.js';
import type { Capture } from './capture.js';
import { orphansOf } from './compare.js';
import type { PathFilter } from './filter.js';
import type { ListingView } from './mirror-steps.js';

/** A queued operation that moves or removes target paths. */
type PathOp = Extract<WireOp, { kind: 'rename' | 'delete' | 'rmdir' }>;

/** Ops that put something new at paths, replacing a directory the target may hold there. */
function replaces(e: WireOp): string[] {
  if (e.kind === 'put' && e.meta.first) return [e.meta.p];
  if (e.kind === 'files') return e.meta.f.map((f) => f[0]);
  return e.kind === 'symlink' || e.kind === 'link' || e.kind === 'mknod' ? [e.meta.p] : [];
}

/** A listing of the target plus every path-changing operation queued after it. */
export class TargetView implements ListingView {
  readonly entries = new Map<string, ListEntry>();
  /** Paths renamed or deleted on the target since the listing (and everything below them). */
  private moved = new Set<string>();
  /** Directories that have (or had) listed entries below them: only those need a walk of the map. */
  private parents = new Set<string>();
  /** Operations seen before the listing said which seq it describes. */
  private early: Array<[PathOp, number]> | null = [];
  private listedSeq = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly capture: Capture) {
    this.unsubscribe = capture.onEmitted((e, seq) => this.observe(e, seq));
  }

  /** Adds one batch of LIST_ITEMS. */
  add(items: ListEntry[]): void {
    for (const it of items) {
      this.entries.set(it.path, it);
      this.addAncestors(it.path);
    }
  }

  /**
   * The listing is complete and describes the replica after `seq`. A target that did not say
   * (none of ours) is taken to have listed after everything queued before its listing ended.
   */
  listed(seq: number | undefined): void {
    this.listedSeq = seq ?? Math.max(0, ...(this.early ?? []).map(([, s]) => s));
    for (const [e, s] of this.early ?? []) if (s > this.listedSeq) this.apply(e);
    this.early = null;
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
    if (this.moved.size === 0 && !this.early?.length) return false;
    for (const [e] of this.early ?? []) this.remember(e);
    if (this.moved.has(rel)) return true;
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1))
      if (this.moved.has(rel.slice(0, i))) return true;
    return false;
  }

  /** Stops following the stream. */
  close(): void {
    this.unsubscribe();
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
        const deleted = new Set<string>();
        const candidates = orphansOf(this.entries, filter)
          .map((t) => t.path)
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // parents before their children
        for (const rel of candidates) {
          if (underAny(deleted, rel)) continue;
          if (await this.capture.deleteOrphan(rel)) {
            deleted.add(rel);
            count++;
          }
        }
      })
      .then(() => count);
  }

  private observe(e: WireOp, seq: number): void {
    if (this.early || seq > this.listedSeq) for (const p of replaces(e)) this.moved.add(p);
    if (e.kind !== 'rename' && e.kind !== 'delete' && e.kind !== 'rmdir') return;
    if (this.early) this.early.push([e, seq]);
    else if (seq > this.listedSeq) this.apply(e);
  }

  private remember(op: PathOp): void {
    if (op.kind === 'rename') {
      this.moved.add(op.meta.from);
      this.moved.add(op.meta.to);
    } else this.moved.add(op.meta.p);
  }

  private apply(op: PathOp): void {
    this.remember(op);
    if (op.kind !== 'rename') return this.removeTree(op.meta.p);
    const { from, to } = op.meta;
    const moved = [from, ...this.below(from)]
      .map((rel) => this.entries.get(rel))
      .filter((it): it is ListEntry => it !== undefined);
    this.removeTree(to); // a rename replaces what was at its destination
    for (const it of moved) {
      this.entries.delete(it.path);
      const rel = to + it.path.slice(from.length);
      this.entries.set(rel, { ...it, path: rel });
      this.addAncestors(rel);
    }
  }

  private addAncestors(rel: string): void {
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1))
      this.parents.add(rel.slice(0, i));
  }

  private removeTree(rel: string): void {
    this.entries.delete(rel);
    for (const k of this.below(rel)) this.entries.delete(k);
  }

  /** Listed paths strictly below `rel` (a walk of the map, only when `rel` ever had any). */
  private below(rel: string): string[] {
    if (!this.parents.has(rel)) return [];
    const prefix = rel + '/';
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }
}

function underAny(dirs: Set<string>, rel: string): boolean {
  for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1))
    if (dirs.has(rel.slice(0, i))) return true;
  return false;
}
