// The checksum mirror's first pass: the target's sha256 of a batch of files in one round trip,
// compared with a local pass that also yields the block hashes later changes need.
import path from 'node:path';
import type { Stats } from 'node:fs';
import { hashBlocks, type BlockHashes } from '../delta/index.js';
import type { ListEntry } from '../protocol/listing.js';
import type { FileSum } from '../protocol/requests.js';
import { CAPTURE_BLOCK } from './file-capture.js';

/** A file waiting for the checksum mirror's batched comparison. */
export interface Candidate {
  rel: string;
  st: Stats;
  t: ListEntry;
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
  const local: Array<BlockHashes | null> = [];
  for (const b of batch)
    local.push(
      await hashBlocks(path.join(base, ...b.rel.split('/')), CAPTURE_BLOCK).catch(() => null),
    );
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

/** Bytes of the files of a batch (progress counts them once the batch is settled). */
export function sumSizes(batch: Array<[Candidate, unknown]>): number {
  return batch.reduce((n, [b]) => n + b.st.size, 0);
}
