// Applying one `delta` op: the delta engine rebuilds the file in its transfer's temp file from
// the untouched basis, part by part; the last part's proof decides between renaming it into
// place and asking the source for the file whole (NEED). Replaying a part is harmless: the basis
// is only replaced by the final rename.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { applyDeltaPart, type DeltaInstruction, type Rebuilds } from '../delta/index.js';
import type { DeltaMeta } from '../protocol/ops.js';
import type { Confiner } from './confine.js';
import { endAttrs, setAttrs, type OpOutcome } from './ops.js';
import { tempNameFor } from './temp-files.js';
import { fsPath } from '../fsmeta/index.js';

/** The part's instructions, literals cut from the body in order (checked to fit by the decoder). */
function* instructions(meta: DeltaMeta, body: Buffer): Generator<DeltaInstruction> {
  let pos = 0;
  for (const op of meta.ops) {
    if (op.op === 'copy') {
      yield op;
      continue;
    }
    yield { op: 'literal', dstOffset: op.dstOffset, data: body.subarray(pos, pos + op.length) };
    pos += op.length;
  }
}

/** One part of a delta rebuild of `meta.p`. */
export async function applyDelta(
  cf: Confiner,
  rebuilds: Rebuilds,
  seq: number,
  meta: DeltaMeta,
  body: Buffer,
): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  const tmp = tempNameFor(abs, meta.first ? seq : (meta.tx ?? 0));
  if (meta.first) await cf.temps.clear(abs, tmp);
  const end = meta.end
    ? {
        size: meta.size ?? 0,
        sha256: meta.sha256 ?? '',
        finish: (fh: fsp.FileHandle) => setAttrs(cf, fh, meta),
      }
    : undefined;
  const r = await applyDeltaPart(
    instructions(meta, body),
    { basisPath: abs, outPath: tmp, first: meta.first === true, end },
    rebuilds,
  );
  if (r.state === 'partial') return { touched: [tmp] };
  if (r.state === 'done' && r.ok) {
    endAttrs(cf, tmp, meta);
    await fsp.rename(fsPath(tmp), fsPath(abs));
    cf.temps.done(tmp);
    return { touched: [abs, path.dirname(abs)] };
  }
  // No basis, no temp file, or a rebuild that is not the source's file: never left wrong.
  await fsp.rm(fsPath(tmp), { force: true });
  cf.temps.done(tmp);
  return { touched: [], need: meta.p };
}
