// What capture queues: one operation in its wire form, with its data.
import type { WireOp } from '../protocol/ops.js';

/** One operation as capture appends it to the journal (and the link later sends it). */
export type QueuedOp = WireOp & {
  data?: Buffer;
  /** The journal may keep `data` as it is (nothing writes to it again). */
  handOver?: boolean;
};

/** The meta of one kind of queued op. */
export type QueuedMeta<K extends WireOp['kind']> = Extract<WireOp, { kind: K }>['meta'];

/** Appends one operation; resolves with its seq. */
export type Emit = (e: QueuedOp) => Promise<{ seq: number }>;

/** The paths a queued op names. */
export function pathsOf(e: QueuedOp): string[] {
  if (e.kind === 'rename') return [e.meta.from, e.meta.to];
  if (e.kind === 'files') return e.meta.f.map((f) => f[0]);
  return e.kind === 'task' || e.kind === 'mark' ? [] : [e.meta.p];
}
