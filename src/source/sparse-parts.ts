// Whole-file parts of zeros only are not sent (rsync -S): the target's temp file reads zeros
// where no part was written and keeps them as holes, and the journal holds none of them.
import { isAllZero } from '../fsmeta/index.js';
import type { Emit, QueuedMeta } from './queued-op.js';

/**
 * Appends one part of a whole-file `put`, unless it is all zeros and neither the first part (it
 * creates the temp file) nor the last (it ends the file): those go without their data. Returns
 * the part's seq, or null when nothing was appended.
 */
export async function appendPart(
  append: Emit,
  meta: QueuedMeta<'put'>,
  data: Buffer,
  mustSend: boolean,
): Promise<number | null> {
  const zero = isAllZero(data);
  if (zero && !mustSend) return null;
  const rec = await append({
    kind: 'put',
    meta,
    data: zero ? Buffer.alloc(0) : data,
    handOver: true,
  });
  return rec.seq;
}

/**
 * Whether a changed block of a delta need not be sent: all zeros at or past the end of the
 * target's copy, which the final record's truncate to the new size extends with a hole there.
 * (A file that grew sparsely after it was captured small went as all its zeros: 1 GiB for a
 * `truncate -s 1G` caught between its create and its resize.)
 */
export function holeBeyond(block: Buffer, at: number, basisSize: number): boolean {
  return at >= basisSize && isAllZero(block);
}
