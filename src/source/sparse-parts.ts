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
