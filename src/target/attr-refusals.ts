// What a target could not set (not root: another owner; no xattr or ACL support; a device it may
// not create): counted, and logged once per path, never silently dropped (docs/FIDELITY.md).
import { displayPath, nameBytes } from '../fsmeta/index.js';
import { log } from '../shared/log.js';

const LOGGED_PATHS_MAX = 1000;
/** Refused names one ACK carries at most (the protocol's limit); the count has them all. */
export const MAX_NAMES_PER_ACK = 256;

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
  // Counted since the last ACK told the source (takeNew), and the paths whose names were refused.
  private fresh: Record<string, number> = {};
  private freshNames: string[] = [];

  /** Counts each refusal for `rel`; the first for a path is logged. */
  note(rel: string, refusals: readonly Refusal[]): void {
    if (refusals.length === 0) return;
    for (const r of refusals) {
      this.counts[r.attr] = (this.counts[r.attr] ?? 0) + 1;
      this.fresh[r.attr] = (this.fresh[r.attr] ?? 0) + 1;
      if (r.attr === 'name' && this.freshNames.length < MAX_NAMES_PER_ACK)
        this.freshNames.push(rel);
    }
    if (this.logged.has(rel) || this.logged.size >= LOGGED_PATHS_MAX) return;
    this.logged.add(rel);
    const what = refusals.map((r) => r.reason).join('; ');
    log.warn(`${displayPath(nameBytes(rel))}: not replicated: ${what}`);
  }

  /**
   * What was counted since the last call, for the source's `status`, and the paths whose names
   * were refused, for its verify (sent with an ACK); or null.
   */
  takeNew(): { refused: Record<string, number>; names?: string[] } | null {
    if (Object.keys(this.fresh).length === 0) return null;
    const out = {
      refused: this.fresh,
      ...(this.freshNames.length ? { names: this.freshNames } : {}),
    };
    this.fresh = {};
    this.freshNames = [];
    return out;
  }

  /** How many attributes were not set in all. */
  get total(): number {
    return Object.values(this.counts).reduce((n, c) => n + c, 0);
  }
}
