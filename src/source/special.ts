// Fifos, sockets and device nodes (rsync -D): capture sends each as a `mknod` op with its mode,
// device number and attributes; the target makes it, or skips it loudly (docs/PROTOCOL.md).
import type { Stats } from 'node:fs';
import { splitDev } from '../fsmeta/index.js';
import type { NodeKind } from '../protocol/ops.js';
import { sameInode, type Known } from './known.js';
import type { Ledger } from './ledger.js';

/**
 * Queues what `rel`, a special entry, needs on the target: nothing when the index already has this
 * node (an `attr` op when only its mode or attributes changed), else a `mknod`. `k` undefined: send
 * it whatever the index says (a forced check).
 */
export async function checkSpecial(
  ledger: Ledger,
  rel: string,
  st: Stats,
  type: NodeKind,
  k: Known | undefined,
): Promise<void> {
  const mode = st.mode & 0o7777;
  if (k && k.type === type && sameInode(k, st)) {
    const now = ledger.attrs.stamp(rel);
    if (k.mode !== mode || (now !== null && k.stamp !== undefined && now !== k.stamp))
      await ledger.emit({ kind: 'attr', meta: { p: rel, mode } });
    return ledger.record(rel, st, type, { blocks: null });
  }
  const dev = type === 'char' || type === 'block' ? splitDev(BigInt(st.rdev)) : undefined;
  const rdev = dev && { rdev: [dev.major, dev.minor] };
  await ledger.emit({ kind: 'mknod', meta: { p: rel, type, mode, ...rdev } });
  ledger.record(rel, st, type, { blocks: null });
}
