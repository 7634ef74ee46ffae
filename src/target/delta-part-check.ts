// Validates a delta part's numbers before any of them reaches a file call: Node aborts the
// whole process (not just the call) on a fractional file position, so one bad authenticated
// frame — ['c', 0, 1.5, 0] — took every connection of the target down with it.
import { SmrError } from '../shared/errors.js';

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function refuse(what: string, v: unknown): never {
  throw new SmrError(
    'protocol',
    `delta part: ${what} must be a non-negative integer, got ${JSON.stringify(v)}`,
  );
}

/** Throws a protocol error unless every op, size and transfer id of a delta part is well formed. */
export function checkDeltaPart(meta: Record<string, unknown>, body: Buffer): void {
  if (!meta.first && !isCount(meta.tx)) refuse('tx', meta.tx);
  if (meta.end && meta.size !== undefined && !isCount(meta.size)) refuse('size', meta.size);
  const ops = meta.ops ?? [];
  if (!Array.isArray(ops)) throw new SmrError('protocol', 'delta part: ops must be a list');
  let literal = 0;
  for (const ins of ops as unknown[]) {
    if (!Array.isArray(ins) || (ins[0] !== 'l' && ins[0] !== 'c'))
      throw new SmrError('protocol', `delta part: unknown op ${JSON.stringify(ins)}`);
    const nums = ins[0] === 'l' ? ins.slice(1, 3) : ins.slice(1, ins.length > 3 ? 4 : 3);
    nums.forEach((n, i) => {
      if (!isCount(n)) refuse(`op ${JSON.stringify(ins)} field ${i + 1}`, n);
    });
    if (ins[0] === 'l') literal += ins[2] as number;
  }
  if (literal > body.length)
    throw new SmrError(
      'protocol',
      `delta part: literals need ${literal} bytes, the body has ${body.length}`,
    );
}
