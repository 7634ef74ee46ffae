// Every StampRow of an index, in order, through StampsAhead (src/index/stamps-ahead.ts) as a
// reconciliation reads them; and how many of them its worker read, and from kept pages.
import { PathIndex, type StampRow } from '../../src/index/index.js';

export async function allStamps(
  index: PathIndex,
  inlineRows?: number,
): Promise<{ rows: StampRow[]; fromWorker: number; fromKept: number }> {
  const ahead = index.stampsAhead(inlineRows);
  const rows: StampRow[] = [];
  try {
    do for (let r = ahead.next(); r; r = ahead.next()) rows.push(r);
    while (await ahead.more());
    return { rows, fromWorker: ahead.fromWorker, fromKept: ahead.fromKept };
  } finally {
    ahead.close();
  }
}

/** Whether kept stamp pages cover the whole index in `file` (src/index/stamp-pages.ts). */
export function keptWhole(file: string): boolean {
  const idx = PathIndex.open(file, { readonly: true });
  try {
    return idx.stampPages().gaps().length === 0;
  } finally {
    idx.close();
  }
}
