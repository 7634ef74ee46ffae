// One file of a restore, fetched from the replica by the delta engine run backwards (`rdelta`,
// src/target/reverse-delta.ts): the source's own copy is the basis, the target builds the delta
// of the replica's file against it, and the source rebuilds the file into a temp file proven by
// the sha256 the target announced. The caller renames it into place.
import { promises as fsp } from 'node:fs';
import {
  applyDeltaPart,
  coarseSignature,
  decodeRanges,
  emptyCoarseSignature,
  encodeCoarse,
  encodeFine,
  encodeMid,
  fineSignature,
  midSignature,
  Rebuilds,
  wireBytes,
  type CoarseSignature,
  type DeltaInstruction,
} from '../delta/index.js';
import { MAX_BODY_BYTES } from '../protocol/limits.js';
import {
  rdeltaReply,
  type RdeltaReply,
  type Reply,
  type TargetRequest,
} from '../protocol/requests.js';
import { SmrError } from '../shared/errors.js';
import { fsPath } from '../fsmeta/index.js';

/** Sends one request to the target (the link's `request`). */
export type Ask = (req: TargetRequest, body?: Buffer) => Promise<Reply>;

/** What fetching one file did. */
export interface Fetched {
  /** Literal bytes that crossed the link (the rest was copied from the basis). */
  literal: number;
  size: number;
  /** The basis already was the replica's file: nothing was written. */
  unchanged: boolean;
}

let nextId = 1;

/** The coarse signature of the basis, or an empty one (no basis, or too big for one frame). */
async function basisSignature(basis: string | null): Promise<[Buffer, CoarseSignature]> {
  if (basis !== null) {
    const sig = await coarseSignature(basis, { sha256: true }).catch(() => null);
    if (sig) {
      const parts = encodeCoarse(sig);
      if (wireBytes(parts) < MAX_BODY_BYTES - 64 * 1024) return [Buffer.concat(parts), sig];
    }
  }
  const empty = emptyCoarseSignature();
  return [Buffer.concat(encodeCoarse(empty)), empty];
}

/** The literal and copy instructions of one reply part, as the delta engine applies them. */
function* instructions(part: Extract<RdeltaReply, { ops: unknown }>): Generator<DeltaInstruction> {
  let at = 0;
  for (const o of part.ops) {
    if (o.op === 'copy') yield o;
    else {
      yield { op: 'literal', dstOffset: o.dstOffset, data: part.data.subarray(at, at + o.length) };
      at += o.length;
    }
  }
}

/**
 * Rebuilds the replica's `rel` (of snapshot `from`, if given) into `out`, from `basis` (the
 * source's copy, or null). Throws when the target fails or the result is not proven.
 */
export async function fetchFile(
  ask: Ask,
  o: { rel: string; from?: string; basis: string | null; out: string },
): Promise<Fetched> {
  const id = nextId++;
  const [coarse, sig] = await basisSignature(o.basis);
  const basisPath = sig.size > 0 && o.basis !== null ? o.basis : '/dev/null';
  const req = (step: 'start' | 'mid' | 'fine' | 'next', body?: Buffer) =>
    ask(
      {
        op: 'rdelta',
        id,
        step,
        ...(step === 'start' ? { p: o.rel } : {}),
        ...(o.from ? { from: o.from } : {}),
      },
      body,
    );
  const rebuilds = new Rebuilds();
  let reply = rdeltaReply(await req('start', coarse));
  let first = true;
  let literal = 0;
  try {
    for (;;) {
      if (reply.need === 'mid') {
        const mid = await midSignature(basisPath, decodeRanges(reply.ranges), sig);
        reply = rdeltaReply(await req('mid', Buffer.concat(encodeMid(mid))));
        continue;
      }
      if (reply.need === 'fine') {
        const fine = await fineSignature(basisPath, decodeRanges(reply.ranges), reply.blockSize);
        reply = rdeltaReply(await req('fine', Buffer.concat(encodeFine(fine))));
        continue;
      }
      if (reply.unchanged) return { literal: 0, size: reply.size ?? 0, unchanged: true };
      literal += reply.data.length;
      const end = reply.done ? { size: reply.size ?? 0, sha256: reply.sha256 ?? '' } : undefined;
      const r = await applyDeltaPart(
        instructions(reply),
        { basisPath, outPath: o.out, first, end, fsync: true },
        rebuilds,
      );
      first = false;
      if (r.state === 'done') {
        if (!r.ok)
          throw new SmrError(
            'io',
            `${o.rel}: the rebuilt file does not match the replica's sha256`,
          );
        return { literal, size: r.size, unchanged: false };
      }
      if (r.state !== 'partial')
        throw new SmrError('io', `${o.rel}: the basis changed during the restore (${r.state})`);
      reply = rdeltaReply(await req('next'));
    }
  } catch (err) {
    await ask({ op: 'rdelta', id, step: 'end' }).catch(() => undefined);
    await fsp.rm(fsPath(o.out), { force: true });
    throw err;
  }
}
