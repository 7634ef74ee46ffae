// The checksum mirror's first pass: the target's sha256 of a batch of files in one round trip,
// compared with a local pass that also yields the block hashes later changes need.
import path from 'node:path';
import type { ScanStat } from './entry-type.js';
import {
  hashBlocks,
  hashPool,
  hashSmallStat,
  initHash,
  type BlockHashes,
  type SeenStat,
} from '../delta/index.js';
import type { ListEntry } from '../protocol/listing.js';
import type { FileSum } from '../protocol/requests.js';
import { CAPTURE_BLOCK } from './file-capture.js';

/** A file waiting for the checksum mirror's batched comparison. */
export interface Candidate {
  rel: string;
  st: ScanStat;
  t: ListEntry;
  /**
   * The file's stat taken on the open file just after its content was hashed (small files): proof
   * that what was hashed is what the scan saw, with no second lstat (mirror-equal.ts).
   */
  seen?: SeenStat;
}

/**
 * A Candidate as the checksum mirror holds it while its batch is hashed and asked for: an
 * instance, not an object literal, whose allocation site V8 would tenure (mirror-equal.ts,
 * HeldEntry): each one, and the scan's Stats it holds, then stayed until a full collection.
 */
export class HeldCandidate implements Candidate {
  seen?: SeenStat = undefined;
  constructor(
    readonly rel: string,
    readonly st: ScanStat,
    readonly t: ListEntry,
  ) {}
}

/** One `sums` request covers this many files... */
export const SUMS_BATCH = 256;
/** ...or this many bytes to hash on each side. */
export const SUMS_BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Splits a batch into files equal on the target (same size and sha256, with their local block
 * hashes) and files that need the per-file block comparison. The target hashes its copies while
 * the local pass runs.
 */
export async function splitBySums(
  base: string,
  batch: Candidate[],
  ask: (paths: string[]) => Promise<Array<FileSum | null>>,
): Promise<{ equal: Array<[Candidate, BlockHashes]>; differ: Candidate[] }> {
  const reply = ask(batch.map((b) => b.rel));
  reply.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  await initHash();
  const local = await hashLocal(base, batch);
  const sums = await reply;
  const equal: Array<[Candidate, BlockHashes]> = [];
  const differ: Candidate[] = [];
  batch.forEach((b, i) => {
    const mine = local[i];
    const theirs = sums[i];
    if (mine && theirs && theirs.size === mine.size && theirs.sha256 === mine.sha256)
      equal.push([b, mine]);
    else differ.push(b);
  });
  return { equal, differ };
}

/**
 * The batch's hashes: small files on the hash pool's worker (the main thread scans the next
 * batch meanwhile), inline without one; the others, and those the worker did not settle, through
 * hashAny. Each small file's stat after the read is kept in `b.seen`.
 */
async function hashLocal(base: string, batch: Candidate[]): Promise<Array<BlockHashes | null>> {
  const abs = batch.map((b) => path.join(base, ...b.rel.split('/')));
  const pooled = await hashPool().blocks(
    abs,
    batch.map((b) => b.st.size),
    CAPTURE_BLOCK,
  );
  const local: Array<BlockHashes | null> = [];
  for (const [i, b] of batch.entries()) {
    const r = pooled ? pooled[i] : null;
    if (r) b.seen = r.st;
    local.push(r ?? (pooled ? null : hashSmall(base, b)) ?? (await hashAny(base, b.rel)));
  }
  return local;
}

/** A small file's hashes, its stat after the read kept in `b.seen`; null: take hashAny. */
function hashSmall(base: string, b: Candidate): BlockHashes | null {
  const r = hashSmallStat(path.join(base, ...b.rel.split('/')), CAPTURE_BLOCK, b.st.size);
  if (!r) return null;
  b.seen = r.st;
  return r.blocks;
}

/** Any file's hashes (streamed when large); null when it cannot be read. */
function hashAny(base: string, rel: string): Promise<BlockHashes | null> {
  return hashBlocks(path.join(base, ...rel.split('/')), CAPTURE_BLOCK).catch(() => null);
}

/** Bytes of the files of a batch (progress counts them once the batch is settled). */
export function sumSizes(batch: Array<[Candidate, unknown]>): number {
  return batch.reduce((n, [b]) => n + b.st.size, 0);
}
