// The checksum mirror's files proven equal on the target: recorded in the index at once when
// nothing is to be sent for them, the rest left to the per-file step (MirrorSteps.same).
import type { Stats } from 'node:fs';
import type { BlockHashes } from '../delta/index.js';
import type { StatStamp } from './entry-attrs.js';
import type { Ledger } from './ledger.js';
import { attrsDiffer } from './mirror-file.js';
import type { Candidate } from './mirror-sums.js';
import type { Listed, MirrorSteps } from './mirror-steps.js';

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
