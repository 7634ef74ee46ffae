// What a mirror does with each source entry, given the target's listing: nothing, send it whole,
// or compare its blocks. Pure decisions; mirror.ts carries them out.
import type { Stats } from 'node:fs';
import type { MirrorMode } from '../control/replies.js';
import { isSpecialType, type ListEntry } from '../protocol/listing.js';
import { MTIME_TOLERANCE_MS } from './compare.js';
import { knownType, type TypeTests } from './entry-type.js';
import { rdevDiffers } from './rdev.js';

/** full, diff or checksum. */
export type { MirrorMode };

/** Options of one mirror run. */
export interface MirrorOptions {
  mode: MirrorMode;
  newerOnly?: boolean;
  deleteOrphans?: boolean;
  /** `--force`: deletions pass the safety brake (src/source/brake.ts). */
  force?: boolean;
}

/**
 * What the decisions read of the entry being sent: an lstat of a source path for a mirror, the
 * replica's entry for a restore (restore-plan.ts), which is a mirror in the other direction.
 */
export type SentEntry = Pick<Stats, 'size' | 'mtimeMs' | 'mode' | 'rdev'> & TypeTests;

/** What a mirror does with one source entry: nothing, send it whole, or compare its blocks. */
export function decide(
  st: SentEntry,
  t: ListEntry | undefined,
  opts: MirrorOptions,
): 'same' | 'whole' | 'blocks' {
  if (!t || t.type !== knownType(st)) return 'whole';
  if (!st.isFile()) return differs(st, t, opts) ? 'whole' : 'same';
  if (opts.mode === 'full') return 'whole';
  if (opts.newerOnly && st.mtimeMs - t.mtimeMs <= MTIME_TOLERANCE_MS) return 'same';
  // checksum compares every file's blocks whatever its attributes say.
  if (opts.mode === 'checksum' || differs(st, t, opts)) return t.size > 0 ? 'blocks' : 'whole';
  return 'same';
}

/** Whether a source entry differs from the target's listing enough to be sent. */
export function differs(st: SentEntry, t: ListEntry | undefined, opts: MirrorOptions): boolean {
  const type = knownType(st);
  if (!t || t.type !== type) return true;
  // A directory's mtime changes with every entry (not replicated yet); its mode is its own: a
  // chmod made while the source was down must reach the target by any mirror mode.
  if (type === 'dir') return (st.mode & 0o7777) !== t.mode;
  if (opts.mode === 'full') return true;
  const mtimeDiff = Math.abs(st.mtimeMs - t.mtimeMs) > MTIME_TOLERANCE_MS;
  if (opts.newerOnly) return st.mtimeMs - t.mtimeMs > MTIME_TOLERANCE_MS;
  // A fifo, socket or device: made again (mknod) when its mode, device number or mtime differ.
  if (type !== null && isSpecialType(type))
    return mtimeDiff || (st.mode & 0o7777) !== t.mode || rdevDiffers(st, t);
  return st.size !== t.size || mtimeDiff || (type === 'file' && (st.mode & 0o7777) !== t.mode);
}
