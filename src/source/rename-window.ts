// The rename window: a path found gone waits here for its new name to turn up (then it is a
// rename) before it becomes a delete. Deadlines only; settling them is the path check's work.

/** A path whose disappearance waits this long for its new name to show up (rename detection). */
export const RENAME_WINDOW_MS = 60;

/** Disappearances waiting for their window to pass, oldest first. */
export class RenameWindow {
  // Every deadline is its insertion time plus the window, so the map's first entry is always
  // the earliest (O(1) with a mass delete's thousands of entries).
  private readonly deadlines = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** How many paths wait. */
  get size(): number {
    return this.deadlines.size;
  }

  /** Starts `rel`'s window, unless it is already waiting. */
  open(rel: string): void {
    if (!this.deadlines.has(rel)) this.deadlines.set(rel, this.now() + RENAME_WINDOW_MS);
  }

  /** True while `rel` waits. */
  has(rel: string): boolean {
    return this.deadlines.has(rel);
  }

  /** `rel` is there again, renamed, or settled: it no longer waits. */
  close(rel: string): void {
    this.deadlines.delete(rel);
  }

  /** Ends the window of every path below `rel` (a delete of `rel` covers them). */
  closeBelow(rel: string): void {
    const prefix = rel + '/';
    for (const g of [...this.deadlines.keys()]) if (g.startsWith(prefix)) this.deadlines.delete(g);
  }

  /** The oldest waiting path if its deadline is at or before `by`. */
  due(by: number): string | undefined {
    const first = this.deadlines.entries().next();
    return !first.done && first.value[1] <= by ? first.value[0] : undefined;
  }

  /** The oldest waiting path, whatever its deadline (a barrier settles them all). */
  first(): string | undefined {
    return this.deadlines.keys().next().value;
  }

  /** When the oldest window ends, or Infinity. */
  earliest(): number {
    const first = this.deadlines.values().next();
    return first.done ? Infinity : first.value;
  }
}
