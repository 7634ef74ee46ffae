// Hard links kept as links (rsync -H): a name of a file whose inode the target already holds under
// another name becomes a `link` op, never a resend of the data (docs/PROTOCOL.md, `link`).
import type { Stats } from 'node:fs';
import { sameContentStamp, sameInode, type Known } from './known.js';
import type { Ledger } from './ledger.js';

/** When a check may link a name to a partner the index holds. */
export interface LinkPolicy {
  /** `connect --no-hard-links` turns linking off: each name goes as a file of its own. */
  enabled: boolean;
  /**
   * Only a partner whose last op came after this seq qualifies: a mirror's forced send links only
   * to what this mirror sent (so `full` still sends each inode's data once); undefined: never.
   */
  after: number | undefined;
  /** A forced check (mirror, NEED, verify --fix). */
  force: boolean;
}

/**
 * Queues `rel` as a link to another name of its inode when the index says the target holds that
 * name with this content (same inode, size and mtime; not unsure). The partner need not still be
 * on disk here: ops apply in order, so the target has it as the index says when the link applies
 * (`ln a b; rm a` links b to a, then deletes a). Returns false when no partner qualifies.
 */
export async function linkToPartner(
  ledger: Ledger,
  rel: string,
  st: Stats,
  k: Known | undefined,
  policy: LinkPolicy,
): Promise<boolean> {
  if (!policy.enabled || policy.after === undefined || st.nlink < 2 || !st.isFile()) return false;
  for (const from of ledger.pathsOfInode(st.dev, st.ino)) {
    if (from === rel) continue;
    const p = ledger.get(from);
    if (!p || p.unsure || p.type !== 'file' || p.seq <= policy.after) continue;
    if (!sameInode(p, st) || !sameContentStamp(p, st)) continue;
    // Already this name of the inode on the target, as far as the index knows (a forced check
    // links again: the target's grouping was found to differ, or its copy is not trusted).
    if (!policy.force && k && !k.unsure && sameInode(k, st) && sameContentStamp(k, st))
      return false;
    await ledger.emit({ kind: 'link', meta: { p: rel, from } });
    // The inode's mode or attributes changed since the partner was sent: set them through `rel`.
    if (p.mode !== (st.mode & 0o7777) || attrsMoved(ledger, rel, p))
      await ledger.emit({ kind: 'attr', meta: { p: rel, mode: st.mode & 0o7777 } });
    ledger.record(rel, st, 'file', { blocks: ledger.blocks(from) ?? null });
    return true;
  }
  return false;
}

function attrsMoved(ledger: Ledger, rel: string, p: Known): boolean {
  const now = ledger.attrs.stamp(rel);
  return p.stamp !== undefined && now !== null && now !== p.stamp;
}
