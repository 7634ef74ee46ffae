// The checksum mirror's first pass: the target's sha256 of a batch of files in one round trip,
// compared with a local pass that also yields the block hashes later changes need.
import path from 'node:path';
import type { Stats } from 'node:fs';
import { hashBlocks, type BlockHashes } from '../delta/index.js';
import type { ListEntry } from '../protocol/listing.js';
import type { FileSum } from '../protocol/requests.js';
import { CAPTURE_BLOCK } from './file-capture.js';
import type { StatStamp } from './entry-attrs.js';
import type { Ledger } from './ledger.js';
import { attrsDiffer } from './mirror-file.js';
import type { Listed, MirrorSteps } from './mirror-steps.js';

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

/** What recording equal files needs of the capture pipeline. */
export interface EqualHost {
  readonly ledger: Ledger;
  failed(err: Error): void;
}

/**
 * Settles a batch of files proven equal on the target: most recorded at once (recordEqual), the
 * rest one by one through `same` (MirrorSteps.same: attributes to send, or changed since).
 */
export async function settleEqual(
  host: EqualHost,
  same: Pick<MirrorSteps, 'same'>,
  equal: Array<[Candidate, BlockHashes]>,
  sinceSeq: number,
): Promise<void> {
  for (const [b, mine] of recordEqual(host, equal, sinceSeq)) {
    // One file's fault must not leave the rest of the batch unrecorded.
    await same.same(b.rel, b.st, b.t, mine, sinceSeq).catch((err: Error) => host.failed(err));
  }
}

/**
 * Records, in one index transaction, the files of a batch proven equal on the target that need
 * nothing sent: unchanged since they were hashed, no op queued for them since `sinceSeq`, and the
 * target's mode, mtime and attribute stamp as listed equal to ours. (A step per file, its own
 * transaction and writes for rows that did not change were half of the source's time in a
 * no-change checksum mirror.) Returns the others, for the per-file step (MirrorSteps.same),
 * which sends their attributes or the file again.
 */
export function recordEqual(
  host: EqualHost,
  equal: Array<[Candidate, BlockHashes]>,
  sinceSeq: number,
): Array<[Candidate, BlockHashes]> {
  const { ledger } = host;
  const rest: Array<[Candidate, BlockHashes]> = [];
  ledger.index.transaction(() => {
    for (const item of equal) {
      const [b, hashes] = item;
      try {
        // One lstat after the hashing, with the attribute stamp: the file as the scan saw it
        // (so the scan's stat is what is recorded), its stamp compared with the target's.
        const now = ledger.attrs.statStamp(b.rel);
        const changed = !now || !unchanged(now, b.st) || ledger.lastSeq(b.rel) > sinceSeq;
        if (!now || changed || attrsDiffer(b.st, b.t) || !listedAttrsSame(ledger, now.stamp, b.t))
          rest.push(item);
        else ledger.record(b.rel, b.st, 'file', { blocks: hashes, stamp: now.stamp });
      } catch {
        rest.push(item); // the per-file step tries again, and reports what fails there
      }
    }
  });
  return rest;
}

/** Nothing the index records of a file changed since the scan's stat `st` (nor while hashing). */
function unchanged(now: StatStamp, st: Stats): boolean {
  return (
    now.type === 'file' &&
    now.ino === st.ino &&
    now.size === st.size &&
    now.mtimeMs === st.mtimeMs &&
    now.mode === (st.mode & 0o7777) &&
    now.uid === st.uid &&
    now.gid === st.gid
  );
}

/** Whether the target's listed attribute stamp is ours (an older target lists none). */
function listedAttrsSame(ledger: Ledger, mine: string, listed: Listed): boolean {
  return listed.attrs === undefined || ledger.attrs.same(mine, listed.attrs);
}

/** Bytes of the files of a batch (progress counts them once the batch is settled). */
export function sumSizes(batch: Array<[Candidate, unknown]>): number {
  return batch.reduce((n, [b]) => n + b.st.size, 0);
}
