// Streams a description of the replica (path, type, size, mtime, mode, attribute stamp) in
// bounded batches; fifos, sockets and devices (with their device number) when asked.
import { readdirSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { TMP_PREFIX } from './temp-files.js';
import { lstatBigOrNull, readlinkNameSync } from '../shared/fsutil.js';
import { attrStampOf, metaFromStat, msOfNs, splitDev } from '../fsmeta/index.js';
import type { ListEntry } from '../protocol/listing.js';
import { fsPath, nameFromBytes } from '../fsmeta/index.js';

const BATCH = 1000;

/**
 * Walks `base` without following links and hands batches to `emit` (which may apply back-pressure).
 * `specials`: fifos, sockets and devices too (the peer asked for them: docs/PROTOCOL.md).
 */
export async function listTree(
  base: string,
  emit: (items: ListEntry[]) => Promise<void>,
  specials = false,
): Promise<void> {
  let batch: ListEntry[] = [];
  // Paths joined by hand: names from readdir hold no separator and are never "." or "..", so
  // path.join's normalising (a cost per entry) has nothing to do.
  const root = base.endsWith(path.sep) ? base : base + path.sep;
  const stack: string[] = [''];
  while (stack.length) {
    const rel = stack.pop() as string;
    let names: Buffer[];
    try {
      // Names as bytes: a name that is not UTF-8 is listed as the escaped string the source holds
      // for it, never as U+FFFD. A whole directory at once, synchronously: iterating an opendir
      // cost ~15 µs per entry (a promise and a Dirent each), four times the readdir; a directory's
      // names are held meanwhile, as the source's scan holds them to sort them.
      names = readdirSync(fsPath(rel ? root + rel : base), { encoding: 'buffer' });
    } catch {
      continue; // vanished or unreadable: the next mirror or verify will see it
    }
    for (const bytes of names) {
      const name = nameFromBytes(bytes);
      if (name.startsWith(TMP_PREFIX)) continue;
      const r = rel ? `${rel}/${name}` : name;
      const abs = root + r;
      // Synchronous: microseconds each, where a thread-pool round trip per entry made listing a
      // 10,000-file replica take 0.75 s of a 2 s checksum mirror. The batch's send below yields.
      // One bigint lstat serves both the entry and its attribute stamp (a second lstat per entry
      // was a fifth of the listing's time).
      const st = lstatBigOrNull(abs);
      if (!st) continue; // vanished meanwhile
      const entry = entryOf(r, abs, st, specials);
      if (!entry) continue;
      batch.push(entry);
      if (entry.type === 'dir') stack.push(r);
      if (batch.length >= BATCH) {
        await emit(batch);
        batch = [];
      }
    }
  }
  await emit(batch);
}

/** The listing's entry for `r` (one object, built once); null for what is not listed. */
function entryOf(r: string, abs: string, st: BigIntStats, specials: boolean): ListEntry | null {
  const size = Number(st.size);
  const mtimeMs = msOfNs(st.mtimeNs);
  const mode = Number(st.mode & 0o7777n);
  if (st.isFile()) {
    const attrs = stampOrUndefined(abs, st);
    // Names of one inode group by it (hard links: the mirror and verify compare groups).
    if (st.nlink <= 1n) return { path: r, type: 'file', size, mtimeMs, mode, attrs };
    const inode = `${st.dev}:${st.ino}`;
    return { path: r, type: 'file', size, mtimeMs, mode, attrs, inode };
  }
  if (st.isDirectory())
    return { path: r, type: 'dir', size: 0, mtimeMs, mode, attrs: stampOrUndefined(abs, st) };
  if (st.isSymbolicLink()) {
    const attrs = stampOrUndefined(abs, st);
    return { path: r, type: 'symlink', size, mtimeMs, mode, attrs, link: readlinkOrEmpty(abs) };
  }
  const s = specials ? special(st) : null;
  return s && { path: r, size: 0, mtimeMs, mode, attrs: stampOrUndefined(abs, st), ...s };
}

/** A fifo's, socket's or device's type (and a device's number), read without opening it. */
function special(st: BigIntStats): Pick<ListEntry, 'type' | 'rdev'> | null {
  if (st.isFIFO()) return { type: 'fifo' };
  if (st.isSocket()) return { type: 'socket' };
  const type = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : null;
  if (!type) return null;
  // As the source reads it (special.ts), so both ends split the same number.
  const d = splitDev(st.rdev);
  return { type, rdev: [d.major, d.minor] };
}

/** Owner, ns mtime and xattr/ACL digest, for the mirror's attribute comparison. */
function stampOrUndefined(abs: string, st: BigIntStats): string | undefined {
  try {
    return attrStampOf(metaFromStat(abs, st));
  } catch {
    return undefined; // vanished meanwhile: the entry is compared without it
  }
}

function readlinkOrEmpty(abs: string): string {
  try {
    return readlinkNameSync(abs);
  } catch {
    return '';
  }
}
