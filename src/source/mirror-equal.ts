// The checksum mirror's files proven equal on the target, settled many per pipeline step:
// recorded in the index at once when nothing is to be sent for them (nothing written where the
// index holds them already), the rest left to the per-file step (MirrorSteps.same).
import type { ScanStat } from './entry-type.js';
import type { BlockHashes, SeenStat } from '../delta/index.js';
import { lstatOrNull } from '../shared/fsutil.js';
import type { HeldStamp, StatStamp } from './entry-attrs.js';
import { pathKey } from './index-path.js';
import { ctimeNsOf, knownIs, mtimeNsOf, stampProven, type Known } from './known.js';
import type { Ledger } from './ledger.js';
import { attrsDiffer } from './mirror-file.js';
import type { Candidate } from './mirror-sums.js';
import type { Listed, MirrorSteps } from './mirror-steps.js';

/** What recording equal files needs of the capture pipeline. */
export interface EqualHost {
  readonly ledger: Ledger;
  abs(rel: string): string;
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
        if (heldAsFound(ledger, b, hashes, sinceSeq)) {
          ledger.checked(b.rel);
          continue;
        }
        const k = ledger.get(b.rel);
        const held = heldIfUnchanged(host, b, k, sinceSeq);
        if (!held || attrsDiffer(b.st, b.t) || !listedAttrsSame(ledger, held.stamp, b.t))
          rest.push(item);
        else if (recorded(ledger, b, k, held, hashes)) ledger.checked(b.rel);
        else ledger.record(b.rel, b.st, 'file', { blocks: hashes, stamp: held });
      } catch {
        rest.push(item); // the per-file step tries again, and reports what fails there
      }
    }
  });
  return rest;
}

/**
 * The steady state of a no-change checksum mirror, asked of the index in one query (PathIndex
 * holdsFile): hashed as the scan saw it (the stat taken on the open file after the read, no
 * lstat), listed with our mode and mtime, and its row already what recording it would write —
 * no op queued since `sinceSeq`, not unsure, the scan's stat, the stamp this ctime proves (and
 * the listed one, as a whole), these block hashes. Reading the row and its hashes to compare them
 * here (heldIfUnchanged, recorded) cost several times as much. False decides nothing: those
 * compare it again, and take the cases this one leaves out (an owner not carried, a fresh stamp).
 */
function heldAsFound(ledger: Ledger, b: Candidate, mine: BlockHashes, sinceSeq: number): boolean {
  const { seen, st } = b;
  if (!seen || seen.dev !== st.dev || !unchanged(statFields(seen), st) || attrsDiffer(st, b.t))
    return false;
  return ledger.index.holdsFile(pathKey(b.rel), {
    size: st.size,
    mtimeNs: mtimeNsOf(st),
    mode: st.mode & 0o7777,
    dev: st.dev,
    ino: st.ino,
    ctimeNs: ctimeNsOf(seen),
    listed: b.t.attrs,
    maxSeq: sinceSeq,
    blocks: mine,
  });
}

/**
 * The file as the scan saw it when hashed (so the scan's stat is what is recorded: the stat taken
 * on the open file after the read, `b.seen`, else one lstat now) and no op queued for it since
 * `sinceSeq`, with its attribute stamp — the index's, where its ctime proves it still holds (no
 * xattr/ACL read), else read with a second lstat. Null: changed, queued since, or gone. (A change
 * after the hashing is the watcher's, or the next mirror's: the index records what was hashed.)
 */
function heldIfUnchanged(
  host: EqualHost,
  b: Candidate,
  k: Known | undefined,
  sinceSeq: number,
): HeldStamp | null {
  const { ledger } = host;
  if ((k?.seq ?? 0) > sinceSeq) return null;
  const st = b.seen ?? lstatOrNull(host.abs(b.rel));
  if (!st || !unchanged(statFields(st), b.st)) return null;
  if (k?.stamp !== undefined && stampProven(k, st)) return { stamp: k.stamp, ctimeNs: k.ctimeNs };
  const now = ledger.attrs.statStamp(b.rel);
  return now && unchanged(now, b.st) ? now : null;
}

/**
 * Whether the index holds already what recording an equal file would write (ledger.record): the
 * scan's stat, the stamp its ctime proves, and these block hashes — the steady state of a
 * no-change checksum mirror. Then nothing is recorded: the index's own comparison (before its
 * write) comes after two more look-ups and a savepoint per file. The block hashes are compared:
 * content rewritten at equal size and mtime must replace them.
 */
function recorded(
  ledger: Ledger,
  b: Candidate,
  k: Known | undefined,
  held: HeldStamp,
  mine: BlockHashes,
): boolean {
  if (!k || k.unsure || !knownIs(k, b.st, 'file')) return false;
  // A stamp read afresh (not proven by the ctime held) may be recorded with a new ctime.
  if (held.ctimeNs === undefined || held.stamp !== k.stamp || held.ctimeNs !== k.ctimeNs)
    return false;
  const have = ledger.blocks(b.rel);
  if (!have || have.blockSize !== mine.blockSize || have.size !== mine.size) return false;
  const a = have.hashes;
  const m = mine.hashes;
  if (a.length !== m.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== m[i]) return false;
  return true;
}

/** The fields `unchanged` compares, from a plain lstat. */
function statFields(st: SeenStat): StatFields {
  const type = st.isFile() ? 'file' : 'other';
  return {
    type,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

type StatFields = Pick<StatStamp, 'ino' | 'size' | 'mtimeMs' | 'mode' | 'uid' | 'gid'> & {
  type: string;
};

/** Nothing the index records of a file changed since the scan's stat `st` (nor while hashing). */
function unchanged(now: StatFields, st: ScanStat): boolean {
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
