// Whether a connection's target can be in step with its source, and what is still to do: the
// questions `wait`, `verify` and `orphans` ask beside the queue, answered in one place.
import { SmrError } from '../shared/errors.js';
import type { Connection } from './connection.js';
import type { WaitParts } from './connection-wait.js';

/** The parts of a connection the answers read. */
type Parts = Pick<
  Connection,
  'cfg' | 'capture' | 'mirror' | 'journal' | 'name' | 'link' | 'overflow'
> & {
  barrier(): Promise<void>;
};

/** What `wait` watches of a connection. */
export function waitParts(c: Parts): WaitParts {
  return {
    name: c.name,
    journal: c.journal,
    mirror: c.mirror,
    link: c.link,
    overflow: c.overflow,
    refusal: () => whyNotInStep(c),
    pending: () => whatIsPending(c),
    baseline: () => c.capture.ledger.baseline,
    barrier: () => c.barrier(),
  };
}

/**
 * What changed relative to the index is queued, and the target acknowledged everything queued
 * (verify and orphans compare after this; they never send what was never sent).
 */
export async function drained(c: Parts, timeoutMs: number): Promise<void> {
  await c.barrier();
  const seq = c.journal.lastSeq;
  const end = Date.now() + timeoutMs;
  while (c.journal.ackedSeq < seq) {
    if (Date.now() >= end)
      throw new SmrError('timeout', `${c.name}: the target did not acknowledge seq ${seq}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Why the target cannot get in step without the operator, or null. */
export function whyNotInStep(c: Parts): string | null {
  const { name } = c;
  if (!c.cfg.replicate)
    return `replication is off, changes are not captured (smr replicate on ${name})`;
  const held = c.capture.reconciler.held;
  if (held)
    return `deletions are held by the safety brake: ${held}; check the source path, then run smr mirror start ${name} --force to delete them`;
  const p = c.mirror.progress;
  // A stopped queue (its limit, a full disk) starts its remirror by itself once it can.
  const awaited = c.mirror.active || p.state === 'complete' || c.overflow.reason !== null;
  if (c.cfg.remirrorRequired && !awaited)
    return `the target is remirror-required and no mirror runs (smr mirror start ${name})`;
  if (!c.capture.ledger.baseline && p.state === 'stopped' && p.error)
    return `its first mirror failed: ${p.error} (smr mirror start ${name})`;
  return null;
}

/** What is still to do beside the queue (a reconciliation, paths to look at again), or null. */
export function whatIsPending(c: Parts): string | null {
  if (c.capture.reconciler.reconciling(c.journal.ackedSeq)) return 'reconciling';
  const dirty = c.capture.ledger.dirtyCount();
  return dirty > 0 ? `${dirty} path(s) to look at again` : null;
}
