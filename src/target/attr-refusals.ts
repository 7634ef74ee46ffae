// What a target could not set (not root: another owner; no xattr or ACL support; a device it may
// not create): counted, and logged once per path, never silently dropped (docs/FIDELITY.md).
import { log } from '../shared/log.js';

const LOGGED_PATHS_MAX = 1000;

/** One attribute not set, with why. */
export interface Refusal {
  attr: string;
  reason: string;
}

/** The target's tally of attributes it could not set. */
export class AttrRefusals {
  private readonly logged = new Set<string>();
  /** Attributes not set since the daemon started, by attribute name. */
  readonly counts: Record<string, number> = {};

  /** Counts each refusal for `rel`; the first for a path is logged. */
  note(rel: string, refusals: readonly Refusal[]): void {
    if (refusals.length === 0) return;
    for (const r of refusals) this.counts[r.attr] = (this.counts[r.attr] ?? 0) + 1;
    if (this.logged.has(rel) || this.logged.size >= LOGGED_PATHS_MAX) return;
    this.logged.add(rel);
    log.warn(`${rel}: not replicated: ${refusals.map((r) => r.reason).join('; ')}`);
  }

  /** How many attributes were not set in all. */
  get total(): number {
    return Object.values(this.counts).reduce((n, c) => n + c, 0);
  }
}
