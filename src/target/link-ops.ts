// Applying a hard link: a new name for an inode the replica already holds under another name
// (docs/PROTOCOL.md, `link`). Idempotent on replay, like every op (docs/ARCHITECTURE.md).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsPath } from '../fsmeta/index.js';
import type { Op } from '../protocol/ops.js';
import type { Confiner } from './confine.js';
import { isErr, removeAny, type OpOutcome } from './ops.js';

async function lstatOrNull(p: string) {
  try {
    return await fsp.lstat(fsPath(p));
  } catch (err) {
    if (isErr(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

/**
 * `p` becomes another name of `from`'s file. `from` missing or not a regular file means the
 * replica diverged from what the source assumed: NEED `p`, and the source sends it whole. Already
 * the same inode (a replay): nothing to do. Whatever else stands at `p` is replaced.
 */
export async function applyLink(
  cf: Confiner,
  meta: Extract<Op, { kind: 'link' }>['meta'],
): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  const from = await cf.resolve(meta.from);
  const src = await lstatOrNull(from);
  if (!src?.isFile()) return { touched: [], need: meta.p };
  const here = await lstatOrNull(abs);
  if (here && here.ino === src.ino && here.dev === src.dev) return { touched: [] };
  await cf.ensureParent(abs);
  if (here) await removeAny(abs);
  await cf.temps.clear(abs);
  try {
    await fsp.link(fsPath(from), fsPath(abs));
  } catch (err) {
    // A file system without hard links, or an inode at its link limit: the data is sent instead.
    if (isErr(err, 'EPERM', 'EMLINK', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP')) {
      cf.refusals.note(meta.p, [
        { attr: 'hardlinks', reason: `link ${meta.p}: ${(err as NodeJS.ErrnoException).code}` },
      ]);
      return { touched: [], need: meta.p };
    }
    throw err;
  }
  return { touched: [path.dirname(abs)], structural: Boolean(here?.isDirectory()) };
}
