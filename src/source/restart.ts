// A restarted source (docs/ARCHITECTURE.md, "Restart"): what changed while it was down, or was
// captured and never acknowledged, is found by comparing the tree with the index, deletions
// through the brake; then a mirror if one is owed. The target is never listed for it, so a file
// someone put into the replica survives any number of restarts.
import { log } from '../shared/log.js';
import type { Connection } from './connection.js';
import type { Recovered } from './index-open.js';

/** Runs a restarted connection's reconciliation, then the mirror it owes, if any. */
export async function afterRestart(
  c: Pick<Connection, 'cfg' | 'capture' | 'mirror' | 'name'>,
  r: Recovered,
): Promise<void> {
  if (!c.cfg.replicate) return; // remirror-required: `replicate on` mirrors
  const { capture } = c;
  for (const rel of r.tombstones) capture.detach(() => capture.redoRemoval(rel));
  // Without a baseline a path the index lacks may simply never have been sent: only renames count.
  const res = await capture.reconciler.restart({
    unknown: capture.ledger.baseline ? 'all' : 'renames',
    brake: true,
  });
  if (res.held) log.warn(`${c.name}: deletions held: ${res.held}`);
  if (c.cfg.remirrorRequired) c.mirror.start({ mode: 'diff' });
  else if (!capture.ledger.baseline && c.cfg.mirror !== 'none')
    // The first mirror never completed: it is run again, comparing (what is there stays).
    c.mirror.start({ mode: c.cfg.mirror === 'checksum' ? 'checksum' : 'diff' });
}
