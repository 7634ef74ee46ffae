// Requests about the replica (REQUEST / REPLY): block hashes, whole-file sums and the delta
// engine's signatures (docs/PROTOCOL.md, "Requests"), and the restore's (restore-requests.ts).
// Read-only on the target.
import { SmrError } from '../shared/errors.js';
import { bool, int, list, nullable, obj, oneOf, refuse, relPath, sha256, text } from './check.js';
import type { Check } from './check.js';
import { deltaOp, type DeltaOp, type WireDeltaOp } from './ops.js';
import {
  MAX_RDELTA_OPS,
  restoreRequestOf,
  snapshotName,
  snapshotNames,
  type RestoreRequest,
} from './restore-requests.js';

/** Paths one `sums` request may name. */
export const MAX_SUMS = 512;
/** Smallest block size a request may ask for. */
export const MIN_REQUEST_BLOCK = 512;
/** Largest block size a request may ask for. */
export const MAX_REQUEST_BLOCK = 1024 * 1024 * 1024;

/** One request, by its `op`. */
export type TargetRequest =
  | { op: 'blocks'; p: string; blockSize?: number }
  | { op: 'sums'; paths: string[]; from?: string }
  | { op: 'coarse'; p: string; sha256?: boolean }
  | { op: 'mid'; p: string }
  | { op: 'fine'; p: string; blockSize: number }
  | RestoreRequest;

/** Size and sha256 of one file (a `sums` reply entry). */
export type FileSum = { size: number; sha256: string };

/**
 * A reply as it arrives: every field a reply to any request may carry, each checked when present.
 * Which ones a request needs is checked by blocksReply / sumsReply / coarseReply.
 */
export type ReplyHeader = {
  reqId: number;
  error?: string;
  exists?: boolean;
  size?: number;
  blockSize?: number;
  sha256?: string;
  sums?: Array<FileSum | null>;
  /** rdelta: the build needs this signature of the source's basis (the body holds the ranges). */
  need?: 'mid' | 'fine';
  /** rdelta: the source's basis already is the replica's file. */
  unchanged?: boolean;
  /** rdelta: instructions of one part (literals in the body, in order). */
  ops?: DeltaOp[];
  /** rdelta: the last part (`size` and `sha256` say what the file must be). */
  done?: boolean;
  /** snapshots: the names found. */
  names?: string[];
};

/** The same on the wire: sums as [size, sha256] pairs, delta instructions as tuples. */
export type WireReplyHeader = Omit<ReplyHeader, 'sums' | 'ops'> & {
  sums?: Array<[number, string] | null>;
  ops?: WireDeltaOp[];
};

/** A reply frame's header and body. */
export type Reply = { header: ReplyHeader; body: Buffer };

/** The target's block hashes of one file. */
export type BlocksReply =
  | { exists: false }
  | { exists: true; size: number; blockSize: number; sha256: string; hashes: BigUint64Array };

const blockSize = int(MIN_REQUEST_BLOCK, MAX_REQUEST_BLOCK);
const requestOf: { [K in TargetRequest['op']]: Check<Extract<TargetRequest, { op: K }>> } = {
  blocks: obj({ op: oneOf('blocks'), p: relPath }, { blockSize }),
  sums: obj({ op: oneOf('sums'), paths: list(relPath, MAX_SUMS) }, { from: snapshotName }),
  coarse: obj({ op: oneOf('coarse'), p: relPath }, { sha256: bool }),
  mid: obj({ op: oneOf('mid'), p: relPath }),
  fine: obj({ op: oneOf('fine'), p: relPath, blockSize }),
  ...restoreRequestOf,
};

/** Checks a REQUEST header's request part. */
export const targetRequest: Check<TargetRequest> = (v, where) => {
  const op = (v as { op?: unknown } | null)?.op;
  if (typeof op !== 'string' || !Object.hasOwn(requestOf, op))
    return refuse(`${where}.op`, 'a known request', op);
  return requestOf[op as TargetRequest['op']](v, where);
};

const fileSum: Check<FileSum> = (v, where) => {
  if (!Array.isArray(v) || v.length !== 2) return refuse(where, 'a [size, sha256] pair', v);
  return { size: int()(v[0], `${where}[0]`), sha256: sha256(v[1], `${where}[1]`) };
};

/** Checks a REPLY header. */
export const replyHeader: Check<ReplyHeader> = obj(
  { reqId: int(1) },
  {
    error: text(),
    exists: bool,
    size: int(),
    blockSize,
    sha256,
    sums: list(nullable(fileSum), MAX_SUMS),
    need: oneOf('mid', 'fine'),
    unchanged: bool,
    ops: list(deltaOp, MAX_RDELTA_OPS),
    done: bool,
    names: snapshotNames,
  },
);

/** The wire form of a sums reply. */
export function wireSums(sums: Array<FileSum | null>): Array<[number, string] | null> {
  return sums.map((s) => (s ? [s.size, s.sha256] : null));
}

function missing(what: string): never {
  throw new SmrError('protocol', `reply to a ${what} request lacks its fields`);
}

/** A `blocks` reply: the hashes are the body, one u64 (LE) per block. */
export function blocksReply(r: Reply): BlocksReply {
  const h = r.header;
  if (!h.exists) return { exists: false };
  if (h.size === undefined || h.blockSize === undefined || h.sha256 === undefined)
    return missing('blocks');
  if (r.body.length !== Math.ceil(h.size / h.blockSize) * 8)
    throw new SmrError('protocol', `blocks reply: ${r.body.length} body bytes for ${h.size} bytes`);
  const copy = new Uint8Array(r.body); // aligned copy for the 64-bit view
  const hashes = new BigUint64Array(copy.buffer, 0, copy.byteLength / 8);
  return { exists: true, size: h.size, blockSize: h.blockSize, sha256: h.sha256, hashes };
}

/** A `sums` reply, one entry per path asked for. */
export function sumsReply(r: Reply, asked: number): Array<FileSum | null> {
  const sums = r.header.sums ?? missing('sums');
  if (sums.length !== asked)
    throw new SmrError('protocol', `sums reply: ${sums.length} entries for ${asked} paths`);
  return sums;
}

/** One `rdelta` reply: a signature the build needs, or a part of the instructions. */
export type RdeltaReply =
  | { need: 'mid'; ranges: Buffer }
  | { need: 'fine'; ranges: Buffer; blockSize: number }
  | {
      need?: undefined;
      ops: DeltaOp[];
      data: Buffer;
      done: boolean;
      unchanged: boolean;
      size?: number;
      sha256?: string;
    };

/** Names an `rdelta` reply's fields; the literals its ops announce must be in the body. */
export function rdeltaReply(r: Reply): RdeltaReply {
  const h = r.header;
  if (h.need === 'mid') return { need: 'mid', ranges: r.body };
  if (h.need === 'fine')
    return { need: 'fine', ranges: r.body, blockSize: h.blockSize ?? missing('rdelta') };
  const ops = h.ops ?? [];
  const literal = ops.reduce((n, o) => n + (o.op === 'literal' ? o.length : 0), 0);
  if (literal !== r.body.length)
    throw new SmrError('protocol', `rdelta reply: ${r.body.length} body bytes for ${literal}`);
  if (h.done && (h.size === undefined || h.sha256 === undefined)) return missing('rdelta');
  return {
    ops,
    data: r.body,
    done: h.done === true,
    unchanged: h.unchanged === true,
    size: h.size,
    sha256: h.sha256,
  };
}
