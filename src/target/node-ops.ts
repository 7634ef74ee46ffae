// Applying `mknod`: a fifo, socket or device node on the replica (docs/PROTOCOL.md). A target
// that may not make one (devices need root; a container may refuse mknod) skips it, logged once
// per path and counted with the attributes it could not set, never silently.
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { entryTypeOf, fsPath, makeNodeSync, splitDev } from '../fsmeta/index.js';
import type { NodeMeta } from '../protocol/ops.js';
import { applyAttrsSync } from './apply-attrs.js';
import type { Confiner } from './confine.js';
import { isErr, removeAny, type OpOutcome } from './ops.js';

/** Makes the node (replacing whatever else stands there), then sets its attributes. */
export async function applyMknod(cf: Confiner, meta: NodeMeta): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  await cf.ensureParent(abs);
  const rdev = meta.rdev && { major: meta.rdev[0] ?? 0, minor: meta.rdev[1] ?? 0 };
  const here = lstatOrNull(abs);
  const same =
    here !== null &&
    entryTypeOf(here.mode) === meta.type &&
    (rdev === undefined || sameDev(splitDev(here.rdev), rdev));
  if (!same) {
    if (here) await removeAny(abs);
    const made = makeNodeSync(abs, meta.type, meta.mode, rdev);
    if ('skipped' in made) {
      cf.refusals.note(meta.p, [{ attr: 'special', reason: made.skipped }]);
      return { touched: [path.dirname(abs)], structural: Boolean(here?.isDirectory()) };
    }
  }
  applyAttrsSync(cf, abs, meta.p, meta.a ?? {}, meta.mode);
  return { touched: [path.dirname(abs)], structural: Boolean(here?.isDirectory()) };
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(fsPath(p), { bigint: true });
  } catch (err) {
    if (isErr(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

function sameDev(a: { major: number; minor: number }, b: { major: number; minor: number }) {
  return a.major === b.major && a.minor === b.minor;
}
