// What a connection did not replicate, and why: the one tally every "not replicated" path on the
// source goes through (a name that cannot be carried, a type smr does not send, a file it cannot
// read), plus what the target reported it could not set. Filters are the user's choice and are
// not counted. `status` shows it as `skipped: {count, reasons}`; each path is logged once.
import type { Stats } from 'node:fs';
import { displayPath, nameBytes } from '../fsmeta/paths.js';
import { log } from '../shared/log.js';

/** Paths remembered for "counted once, logged once"; past this, every event counts and none logs. */
const REMEMBERED_MAX = 10_000;

/** The contract's `skipped` object of `status`. */
export interface SkippedStatus {
  count: number;
  reasons: Record<string, number>;
}

/** The reason key and a phrase for an entry of a type smr does not replicate. */
export function unsupported(st: Pick<Stats, 'isFIFO' | 'isSocket'>): [string, string] {
  if (st.isFIFO()) return ['fifo', 'a fifo'];
  return st.isSocket() ? ['socket', 'a socket'] : ['device', 'a device node'];
}

/** One connection's tally of what it did not replicate. */
export class Skipped {
  private readonly seen = new Set<string>();
  // Paths whose name could not be carried (here or on the target): verify reports them as such.
  private readonly names = new Set<string>();
  private readonly counts: Record<string, number> = {};
  private readonly target: Record<string, number> = {};

  /**
   * Counts `rel` as not replicated for `reason` (a short key such as `name`, `type`, `unreadable`,
   * `fifo`) and logs `why` the first time this path is skipped for this reason. Calling it again
   * for the same path and reason (every rescan meets it again) neither counts nor logs.
   */
  skip(rel: string, reason: string, why: string): void {
    const key = `${reason}\0${rel}`;
    if (this.seen.has(key)) return;
    if (this.seen.size < REMEMBERED_MAX) this.seen.add(key);
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    if (reason === 'name') this.refusedName(rel);
    if (this.seen.has(key)) log.warn(`${displayPath(nameBytes(rel))}: not replicated: ${why}`);
  }

  /** Counts an entry of a type smr does not replicate (a socket; fifos and devices, for now). */
  unsupported(rel: string, st: Pick<Stats, 'isFIFO' | 'isSocket'>): void {
    const [reason, what] = unsupported(st);
    this.skip(rel, reason, `${what} is not a type smr replicates`);
  }

  /** Counts `rel` as unreadable when `err` is a refusal to read it (EACCES, EPERM); else false. */
  unreadable(rel: string, err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
    if (code !== 'EACCES' && code !== 'EPERM') return false;
    this.skip(rel, 'unreadable', `the source cannot read it (${code})`);
    return true;
  }

  /**
   * What the target newly reports it could not do (by attribute or `name`), added to its tally;
   * `names`: the paths whose names it could not create.
   */
  fromTarget(counts: Readonly<Record<string, number>>, names: readonly string[] = []): void {
    for (const [k, n] of Object.entries(counts)) this.target[k] = (this.target[k] ?? 0) + n;
    for (const rel of names) this.refusedName(rel);
  }

  /** Whether the name of `rel` could not be carried (verify says so rather than "missing"). */
  nameRefused(rel: string): boolean {
    return this.names.has(rel);
  }

  private refusedName(rel: string): void {
    if (this.names.size < REMEMBERED_MAX) this.names.add(rel);
  }

  /** The counts as `status` shows them; the target's reasons are prefixed `target:`. */
  status(): SkippedStatus {
    const reasons: Record<string, number> = { ...this.counts };
    for (const [k, n] of Object.entries(this.target)) reasons[`target:${k}`] = n;
    return { count: Object.values(reasons).reduce((a, b) => a + b, 0), reasons };
  }
}
