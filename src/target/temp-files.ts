// Temp files of whole-file and delta transfers: named after the file they build, listed once per
// directory per session, tracked as they come and go.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsPath, nameBytes } from '../fsmeta/index.js';

/** Every temp file smr writes in a replica starts with this (listings and sources skip them). */
export const TMP_PREFIX = '.smr-tmp-';

/** Name of the temp file a whole-file transfer builds before renaming it into place. */
export function tempNameFor(abs: string, tx: number): string {
  const [dir, name] = splitAbs(abs);
  const tmp = `${tempPrefixFor(name)}${tx}`;
  return dir.length > 1 && !dir.endsWith('/') ? `${dir}/${tmp}` : path.join(dir, tmp);
}

/**
 * An absolute, normalized path (the confiner's) as its directory and its name: what path.dirname
 * and path.basename give, by one search for the last '/' (those two and path.join per file were a
 * cost of their own in a `files` op). The root's own files keep '/' as their directory.
 */
function splitAbs(abs: string): [string, string] {
  const i = abs.lastIndexOf('/');
  if (i <= 0 || i === abs.length - 1) return [path.dirname(abs), path.basename(abs)];
  return [abs.slice(0, i), abs.slice(i + 1)];
}

// Temp names carry a short hash of the file they build, so a transfer abandoned by a crashed
// source (its last part never queued) can be found and removed when that file is next written.
// The hash is of the name's bytes: names that differ only in bytes that are not UTF-8 differ here.
// crypto.hash is the same sha256 in one call (a Hash object per file was 4-8 µs, it is ~1 µs).
function tempPrefixFor(name: string): string {
  const h = crypto.hash('sha256', nameBytes(name), 'hex');
  return `${TMP_PREFIX}${h.slice(0, 8)}-`;
}

/** Length of tempPrefixFor's result: TMP_PREFIX, 8 hex digits, '-'. */
const PREFIX_LENGTH = TMP_PREFIX.length + 9;

/**
 * Temp files per directory, as one session knows them: a directory is listed once (leftovers of
 * earlier sessions), then temps are tracked as they are created and renamed. Listing the
 * directory on every put made a mirror of a large directory quadratic.
 */
export class TempFiles {
  private dirs = new Map<string, Set<string>>();

  private async names(dir: string): Promise<Set<string>> {
    let set = this.dirs.get(dir);
    if (!set) {
      const all = await fsp.readdir(fsPath(dir)).catch(() => [] as string[]);
      set = new Set(all.filter((n) => n.startsWith(TMP_PREFIX)));
      this.dirs.set(dir, set);
    }
    return set;
  }

  /** Removes leftover temp files of `abs` (other than `keep`, which is now in use). */
  async clear(abs: string, keep?: string): Promise<void> {
    const [dir, name] = splitAbs(abs);
    const set = this.dirs.get(dir) ?? (await this.names(dir));
    // `keep` is named after `abs` (tempNameFor): its name holds the prefix, no second sha256.
    const kept = keep === undefined ? undefined : splitAbs(keep)[1];
    const prefix = kept ? kept.slice(0, PREFIX_LENGTH) : tempPrefixFor(name);
    // (Most directories hold no temp file: a new one's set is empty.)
    if (set.size)
      for (const n of [...set]) {
        if (!n.startsWith(prefix) || path.join(dir, n) === keep) continue;
        await fsp.rm(fsPath(path.join(dir, n)), { force: true });
        set.delete(n);
      }
    if (kept) set.add(kept);
  }

  /**
   * clear() at once where `abs`'s directory is known to hold no temp files (a mirror's new one):
   * `keep` is noted; false, nothing done: clear() looks.
   */
  clearNone(abs: string, keep: string): boolean {
    const set = this.dirs.get(splitAbs(abs)[0]);
    if (!set || set.size) return false;
    set.add(splitAbs(keep)[1]);
    return true;
  }

  /** `dir` was just created: it holds no temp files. */
  empty(dir: string): void {
    this.dirs.set(dir, new Set());
  }

  /** A temp file was renamed into place or removed. */
  done(tmp: string): void {
    const [dir, name] = splitAbs(tmp);
    this.dirs.get(dir)?.delete(name);
  }

  /** Structure changed (rename, delete of a directory): list again when next needed. */
  forget(): void {
    this.dirs.clear();
  }
}
