// Sends one file as a content-defined delta against the target's copy (shifted data included):
// signatures come from the target through requests, instructions go into the queue as `delta`
// parts that the target rebuilds into a temp file and proves with the sha256.
import {
  buildDelta,
  decodeCoarse,
  decodeFine,
  decodeMid,
  encodeRanges,
  type ByteRange,
  type StreamBlockHasher,
} from '../delta/index.js';
import { CHUNK_BYTES } from '../protocol/limits.js';
import { wireDeltaOp, type WireDeltaOp } from '../protocol/ops.js';
import type { Reply, TargetRequest } from '../protocol/requests.js';
import type { Emit, QueuedMeta } from './queued-op.js';

/** Asks the target one request about its replica. */
export type AskTarget = (req: TargetRequest, body?: Buffer) => Promise<Reply>;

const MAX_OPS_PER_PART = 20_000;

/** Queues `abs` as a delta; returns the literal bytes sent, or `unchanged` when the target already matches. */
export async function sendDelta(
  abs: string,
  rel: string,
  request: AskTarget,
  emit: Emit,
  attrs: () => Promise<{ mode: number; mtime: number }>,
  known: { sha256?: string; blocks?: StreamBlockHasher; differs?: boolean } = {},
): Promise<{ literalBytes: number; unchanged: boolean; sha256: string }> {
  // With the files known to differ (the source's sha256 differs from the target's, or sampled
  // blocks did), the target need not hash its copy; both sides chunk their files at the same time.
  const differs = known.sha256 !== undefined || known.differs === true;
  const coarse = request({ op: 'coarse', p: rel, sha256: !differs }).then((f) =>
    decodeCoarse(f.body),
  );
  coarse.catch(() => undefined); // awaited by buildDelta; never an unhandled rejection meanwhile
  const ranges = (r: readonly ByteRange[]): Buffer => Buffer.concat(encodeRanges(r));
  const plan = await buildDelta(
    abs,
    coarse,
    {
      mid: async (r) => decodeMid((await request({ op: 'mid', p: rel }, ranges(r))).body),
      fine: async (r, blockSize) =>
        decodeFine((await request({ op: 'fine', p: rel, blockSize }, ranges(r))).body),
    },
    known,
  );
  if (plan.unchanged) return { literalBytes: 0, unchanged: true, sha256: plan.sha256 };
  let ops: WireDeltaOp[] = [];
  let data: Buffer[] = [];
  let bytes = 0;
  let tx = 0;
  let literal = 0;
  const flush = async (end: boolean): Promise<void> => {
    const meta: QueuedMeta<'delta'> = tx === 0 ? { p: rel, first: true, ops } : { p: rel, tx, ops };
    if (end)
      Object.assign(meta, { end: true, size: plan.size, sha256: plan.sha256 }, await attrs());
    const rec = await emit({ kind: 'delta', meta, data: Buffer.concat(data), handOver: true });
    if (tx === 0) tx = rec.seq;
    ops = [];
    data = [];
    bytes = 0;
  };
  for await (const ins of plan.instructions) {
    if (ins.op === 'copy') ops.push(wireDeltaOp(ins));
    else {
      ops.push(wireDeltaOp({ op: 'literal', dstOffset: ins.dstOffset, length: ins.data.length }));
      data.push(ins.data);
      bytes += ins.data.length;
      literal += ins.data.length;
    }
    if (bytes >= CHUNK_BYTES || ops.length >= MAX_OPS_PER_PART) await flush(false);
  }
  await flush(true);
  return { literalBytes: literal, unchanged: false, sha256: plan.sha256 };
}
