// The paths an op names, for the applier's log lines and its tally of refused ops.
import { displayPath, nameBytes } from '../fsmeta/index.js';
import type { Op } from '../protocol/ops.js';

/** The paths an op names, for a log line. */
export function describe(op: Op): string {
  return Object.values(pathsOf(op))
    .map((p) => JSON.stringify(displayPath(nameBytes(p.length > 200 ? p.slice(0, 200) : p))))
    .join(' -> ');
}

/** The paths an op names, for the debug log. */
export function pathsOf(op: Op): Record<string, string> {
  if (op.kind === 'rename') return { from: op.meta.from, to: op.meta.to };
  if (op.kind === 'files') return { p: op.meta.files[0]?.p ?? '' };
  return op.kind === 'task' || op.kind === 'mark' ? {} : { p: op.meta.p };
}

// Whether a path of `op` holds a byte that is not UTF-8 (an escape, shared/name-bytes.ts).
export function escaped(op: Op): boolean {
  return Object.values(pathsOf(op)).some((p) => /[\udc80-\udcff]/.test(p));
}
