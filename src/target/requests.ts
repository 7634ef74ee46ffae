// Answers the source's REQUEST frames about the replica: block hashes of a file (verify, checksum
// mirror) and delta signatures. Read-only; paths go through the same confinement as ops.
import { promises as fsp } from 'node:fs';
import { SmrError, asSmrError } from '../shared/errors.js';
import {
  coarseSignature,
  decodeRanges,
  emptyCoarseSignature,
  encodeCoarse,
  encodeFine,
  encodeMid,
  fineSignature,
  fileSha256,
  hashBlocks,
  hashPool,
  midSignature,
  type CoarseSignature,
} from '../delta/index.js';
import { MAX_BODY_BYTES, blocksBlockSize } from '../protocol/limits.js';
import {
  wireSums,
  type FileSum,
  type TargetRequest,
  type WireReplyHeader,
} from '../protocol/requests.js';
import type { RestoreRequest } from '../protocol/restore-requests.js';
import type { Confiner } from './confine.js';
import { fsPath } from '../fsmeta/index.js';

/** A reply's header (without its reqId) and body. */
type Answer = { header: Omit<WireReplyHeader, 'reqId'>; body?: Buffer };

/** The requests this file answers (a restore's own are serve-restore.ts's). */
export type ReplicaRequest = Exclude<TargetRequest, RestoreRequest>;

/** One reply body from encoded signature parts; larger than a frame is refused (the source falls back). */
function joinParts(parts: Buffer[]): Buffer {
  const b = Buffer.concat(parts);
  if (b.length > MAX_BODY_BYTES)
    throw new SmrError('frame-too-large', `signature of ${b.length} bytes exceeds one frame`);
  return b;
}

/** Handles one request; returns the reply header and body. */
export async function answerRequest(
  cf: Confiner,
  h: ReplicaRequest,
  body: Buffer,
  cache: Map<string, CoarseSignature>,
): Promise<Answer> {
  try {
    switch (h.op) {
      case 'blocks': {
        const abs = await cf.resolve(h.p);
        const st = await fsp.lstat(fsPath(abs)).catch(() => null);
        if (!st?.isFile()) return { header: { exists: false } };
        const b = await hashBlocks(abs, h.blockSize ?? blocksBlockSize(st.size));
        return {
          header: { exists: true, size: b.size, blockSize: b.blockSize, sha256: b.sha256 },
          body: Buffer.from(b.hashes.buffer, b.hashes.byteOffset, b.hashes.byteLength),
        };
      }
      case 'sums': {
        // Whole-file sha256 of many files in one round trip (the checksum mirror's first pass).
        // A path named twice is hashed once: else a few KiB of request cost a file's read per
        // repeat (the fuzz's `sums` of 2,000 paths over a few 256 MiB files: minutes of hashing).
        const seen = await fileSums(cf, h.paths);
        return { header: { sums: wireSums(h.paths.map((p) => seen.get(p) ?? null)) } };
      }
      case 'coarse': {
        const abs = await cf.resolve(h.p);
        const st = await fsp.lstat(fsPath(abs)).catch(() => null);
        const sig = st?.isFile()
          ? await coarseSignature(abs, { sha256: h.sha256 !== false })
          : emptyCoarseSignature();
        cache.set(h.p, sig);
        return { header: { exists: Boolean(st?.isFile()) }, body: joinParts(encodeCoarse(sig)) };
      }
      case 'mid': {
        const abs = await cf.resolve(h.p);
        return {
          header: {},
          body: joinParts(encodeMid(await midSignature(abs, decodeRanges(body), cache.get(h.p)))),
        };
      }
      case 'fine': {
        const abs = await cf.resolve(h.p);
        return {
          header: {},
          body: joinParts(encodeFine(await fineSignature(abs, decodeRanges(body), h.blockSize))),
        };
      }
    }
  } catch (err) {
    return { header: { error: asSmrError(err).message } };
  }
}

/**
 * Size and sha256 of each regular file named (null for anything else, or a path that does not
 * resolve), each path once. Small files are read and hashed on the hash pool's worker (the
 * main thread was mostly their open/read/fstat/close and sha256); what it leaves ('retry': a
 * large file, an error), or all of them without a worker, goes through fileSha256 here, which
 * opens without following a symlink and checks the type on the open file: no lstat first.
 */
async function fileSums(
  cf: Confiner,
  paths: readonly string[],
): Promise<Map<string, FileSum | null>> {
  const seen = new Map<string, FileSum | null>();
  const names: string[] = [];
  const abs: string[] = [];
  for (const p of paths) {
    if (seen.has(p)) continue;
    seen.set(p, null);
    const a = await cf.resolve(p).catch(() => null);
    if (a === null) continue;
    names.push(p);
    abs.push(a);
  }
  const pooled = await hashPool().sums(abs);
  for (const [i, p] of names.entries()) {
    const r = pooled ? pooled[i] : 'retry';
    seen.set(p, r === 'retry' ? await fileSha256(abs[i] as string) : (r ?? null));
  }
  return seen;
}
