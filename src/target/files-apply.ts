// A `files` op (several small whole files in one record, protocol/files-op.ts) applied as the
// whole-file puts it stands for: each through its own temp file and rename, so a reader never
// sees half a file, and a fault between two files leaves whole files only (the op is not
// acknowledged, and applying it again after a reconnect rewrites them to the same effect).
import type { IncomingOp } from './applier.js';
import type { OpOutcome } from './ops.js';

type FilesOp = Extract<IncomingOp, { kind: 'files' }>;
type PutOp = Extract<IncomingOp, { kind: 'put' }>;

/** The one-part puts a `files` op carries, in order, each with its slice of the body. */
export function filePuts(op: FilesOp): PutOp[] {
  const out: PutOp[] = [];
  let at = 0;
  for (const f of op.meta.files) {
    const body = op.body.subarray(at, at + f.size);
    at += f.size;
    const meta = {
      p: f.p,
      off: 0,
      first: true,
      end: true,
      size: f.size,
      mode: f.mode,
      mtime: f.mtime,
      a: f.a,
    };
    out.push({ kind: 'put', seq: op.seq, body, meta });
  }
  return out;
}

/** One outcome for the files of one op. */
export function mergeOutcomes(outs: OpOutcome[]): OpOutcome {
  return {
    touched: outs.flatMap((o) => o.touched),
    structural: outs.some((o) => o.structural === true),
  };
}
