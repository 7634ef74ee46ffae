// The work queue's overflow. Hints that come while the queue holds its limit of paths are kept
// as marks in the connection's index (DIRTY_SPILL_*, on disk) instead of in memory, coalesced per
// path, and handed back a page at a time as the queue gets room: under a load capture cannot keep
// up with, memory stays bounded and the backlog waits on disk. Nothing is dropped: a path stays
// marked until it is taken back, and marks a stopped process left are taken back after a start.
//
// Steps (in-line work: barriers, task markers, mirror steps) queued while hints are spilled must
// run after those hints. Spilled hints go to one of two generations; a step waits for the one
// being written, which is then closed (new hints go to the other), so it waits for a finite set
// however fast new hints come.
import {
  DIRTY_SPILL_A,
  DIRTY_SPILL_B,
  DIRTY_SPILL_FORCE,
  type DirtyPath,
  type PathIndex,
} from '../index/index.js';
import { pathKey, relOf } from './index-path.js';

/** Spilled hints buffered in memory, then marked in one transaction. */
const WRITE_BATCH = 256;

const BOTH = DIRTY_SPILL_A | DIRTY_SPILL_B;

/** Work run in line (work-queue.ts's Step). */
type Step = () => Promise<void>;

/** What the queue gets back: a path to check, or a step whose spilled hints all came back. */
export type Taken = { rel: string; force: boolean } | { step: Step };

/** The index calls the spill makes. */
export type SpillStore = Pick<
  PathIndex,
  'markDirty' | 'clearDirty' | 'dirtyFlags' | 'dirtyPage' | 'dirtyCount' | 'transaction'
>;

function otherGen(gen: number): number {
  return gen === DIRTY_SPILL_A ? DIRTY_SPILL_B : DIRTY_SPILL_A;
}

/** Hints (and the steps behind them) that did not fit the work queue. */
export class HintSpill {
  private writeGen = DIRTY_SPILL_A;
  private readGen = DIRTY_SPILL_A;
  /** Where the next page of readGen starts (null: at its beginning). */
  private cursor: Buffer | null = null;
  private readonly buffered = new Map<string, boolean>();
  /** Paths marked: exact but for renames of marked trees; set right whenever both read empty. */
  private marked: number;
  private readonly steps: Array<{ gen: number; step: Step }> = [];

  constructor(private readonly store: SpillStore) {
    this.marked = store.dirtyCount(BOTH);
  }

  /** Hints held, buffered or marked. */
  get size(): number {
    return this.buffered.size + this.marked;
  }

  /** Whether hints or steps wait here: new work queues behind them. */
  get busy(): boolean {
    return this.size > 0 || this.steps.length > 0;
  }

  /** Keeps a hint that `rel` may have changed (`force`: send it whole). */
  add(rel: string, force: boolean): void {
    this.buffered.set(rel, (this.buffered.get(rel) ?? false) || force);
    if (this.buffered.size >= WRITE_BATCH) this.flush();
  }

  /** Keeps `step` until every hint spilled before it was taken back. */
  hold(step: Step): void {
    this.flush(); // the buffered hints belong to the generation the step waits for
    this.steps.push({ gen: this.writeGen, step });
    if (this.readGen === this.writeGen) this.writeGen = otherGen(this.writeGen);
  }

  /**
   * Up to `n` spilled hints, unmarked as they are handed out (the queue holds them from now on);
   * once a generation is all taken back, the steps that waited for it. Empty: nothing is held.
   */
  take(n: number): Taken[] {
    this.flush();
    for (let round = 0; round < 4; round++) {
      const page = this.page(n);
      if (page.length > 0) return this.unmark(page);
      const released = this.advance();
      if (released.length > 0) return released;
      if (!this.busy) return [];
    }
    // Unreachable as far as the marks go; never leave a step behind.
    this.marked = 0;
    return this.steps.splice(0).map((s) => ({ step: s.step }));
  }

  /** Writes the buffered hints as marks (the queue stops, or before reading them back). */
  flush(): void {
    if (this.buffered.size === 0) return;
    const gen = this.writeGen;
    this.store.transaction(() => {
      for (const [rel, force] of this.buffered) {
        const key = pathKey(rel);
        if ((this.store.dirtyFlags(key) & BOTH) === 0) this.marked++;
        this.store.markDirty(key, gen | (force ? DIRTY_SPILL_FORCE : 0));
      }
    });
    this.buffered.clear();
  }

  /** The next page of the read generation, going round to its beginning once. */
  private page(n: number): DirtyPath[] {
    let page = this.store.dirtyPage(this.cursor, this.readGen, n);
    if (page.length === 0 && this.cursor !== null) {
      this.cursor = null;
      page = this.store.dirtyPage(null, this.readGen, n);
    }
    this.cursor = page.length > 0 ? (page[page.length - 1] as DirtyPath).path : null;
    return page;
  }

  /** Hands a page out: its marks go (both generations: one check covers both hints). */
  private unmark(page: DirtyPath[]): Taken[] {
    this.store.transaction(() => {
      for (const d of page) this.store.clearDirty(d.path, BOTH | DIRTY_SPILL_FORCE);
    });
    this.marked = Math.max(0, this.marked - page.length);
    return page.map((d) => ({ rel: relOf(d.path), force: (d.flags & DIRTY_SPILL_FORCE) !== 0 }));
  }

  /** The read generation is empty: its steps go, and reading moves on. */
  private advance(): Taken[] {
    let n = 0;
    while (this.steps[n]?.gen === this.readGen) n++;
    const released = this.steps.splice(0, n).map((s): Taken => ({ step: s.step }));
    this.cursor = null;
    if (this.readGen !== this.writeGen) {
      this.readGen = this.writeGen;
      // Steps wait for the new read generation: close it, so they wait for a finite set.
      if (this.steps.length > 0) this.writeGen = otherGen(this.writeGen);
    } else if (this.store.dirtyPage(null, otherGen(this.readGen), 1).length > 0) {
      this.readGen = this.writeGen = otherGen(this.readGen); // marks a stopped process left
    } else this.marked = 0;
    return released;
  }
}
