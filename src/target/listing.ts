// Streams a description of the replica (path, type, size, mtime, mode, attribute stamp) in
// bounded batches; fifos, sockets and devices (with their device number) when asked.
import { isAscii } from 'node:buffer';
import { readdirSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { TMP_PREFIX } from './temp-files.js';
import { lstatBigOrNull, readlinkNameSync } from '../shared/fsutil.js';
import { attrStampOf, metaFromStat, msOfNs, plainAttrStamp, splitDev } from '../fsmeta/index.js';
import type { ListEntry } from '../protocol/listing.js';
import { fsPath, nameFromBytes, pathBytes } from '../fsmeta/index.js';
import { ListWorkers, nameStart, type DirNames } from './list-dirs.js';
import { FIELDS, GONE, PLAIN } from './list-worker.js';

const BATCH = 1000;
/** Names listed on this thread before the workers start: a small replica never starts one. */
const INLINE_FIRST = 4096;
/** Directories asked of the workers ahead of the one whose names are being read. */
const AHEAD = 16;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * Walks `base` without following links and hands batches to `emit` (which may apply back-pressure).
 * `specials`: fifos, sockets and devices too (the peer asked for them: docs/PROTOCOL.md). Once
 * `inlineFirst` names were listed here, workers list the directories (list-dirs.ts); the entries
 * come in another order then, each parent still before what is below it.
 */
export async function listTree(
  base: string,
  emit: (items: ListEntry[]) => Promise<void>,
  specials = false,
  inlineFirst = INLINE_FIRST,
): Promise<void> {
  let batch: ListEntry[] = [];
  // Paths joined by hand: names from readdir hold no separator and are never "." or "..", so
  // path.join's normalising (a cost per entry) has nothing to do.
  const root = base.endsWith(path.sep) ? base : base + path.sep;
  const pending: string[] = [''];
  const ahead: Array<{ rel: string; names: Promise<DirNames | null> }> = [];
  let listed = 0;
  let workers: ListWorkers | null | undefined;
  try {
    while (pending.length || ahead.length) {
      if (workers === undefined && listed >= inlineFirst) workers = ListWorkers.start();
      while (workers && ahead.length < AHEAD && pending.length) {
        const rel = pending.pop() as string;
        ahead.push({ rel, names: workers.list(pathBytes(rel ? root + rel : base)) });
      }
      const next = ahead.shift();
      const rel = next ? next.rel : (pending.pop() as string);
      const d = next ? await next.names : null;
      const names = d ? d.ends.length : 0;
      let inline: Buffer[] = [];
      if (!d) {
        try {
          // Names as bytes: a name that is not UTF-8 is listed as the escaped string the source
          // holds for it, never as U+FFFD. A whole directory at once, synchronously: iterating an
          // opendir cost ~15 µs per entry (a promise and a Dirent each), four times the readdir.
          inline = readdirSync(fsPath(rel ? root + rel : base), { encoding: 'buffer' });
        } catch {
          continue; // vanished or unreadable: the next mirror or verify will see it
        }
        listed += inline.length;
      }
      const ascii = d !== null && isAscii(d.bytes.subarray(d.first, d.ends[names - 1] ?? d.first));
      for (let i = 0; i < (d ? names : inline.length); i++) {
        let name: string;
        if (d === null) name = nameFromBytes(inline[i] as Buffer);
        else {
          const [from, to] = [nameStart(d, i), d.ends[i] as number];
          if (d.out[i * FIELDS] === GONE) continue;
          name = ascii
            ? d.bytes.toString('latin1', from, to)
            : nameFromBytes(d.bytes.subarray(from, to));
        }
        if (name.startsWith(TMP_PREFIX)) continue;
        const r = rel ? `${rel}/${name}` : name;
        const entry =
          d !== null && d.out[i * FIELDS] === PLAIN
            ? plainEntry(r, d.out, i * FIELDS)
            : inlineEntry(r, root + r, specials);
        if (!entry) continue;
        batch.push(entry);
        if (entry.type === 'dir') pending.push(r);
        if (batch.length >= BATCH) {
          await emit(batch);
          batch = [];
        }
      }
    }
  } finally {
    workers?.close();
  }
  await emit(batch);
}

/** A name the workers did not settle (or listed here): its entry from its own lstat. */
function inlineEntry(r: string, abs: string, specials: boolean): ListEntry | null {
  // Synchronous: microseconds each, where a thread-pool round trip per entry made listing a
  // 10,000-file replica take 0.75 s of a 2 s checksum mirror. The batch's send yields.
  // One bigint lstat serves both the entry and its attribute stamp (a second lstat per entry
  // was a fifth of the listing's time).
  const st = lstatBigOrNull(abs);
  return st && entryOf(r, abs, st, specials); // null: vanished meanwhile
}

/** The common entry (list-worker.ts: a file with one name, or a directory, with no xattrs). */
function plainEntry(r: string, out: Float64Array, o: number): ListEntry {
  const mode = out[o + 1] as number;
  const [sec, nsec] = [out[o + 5] as number, out[o + 6] as number];
  // As msOfNs computes it from the BigInt ns: seconds, then nanoseconds.
  const mtimeMs = sec * 1e3 + nsec / 1e6;
  const attrs = plainAttrStamp(out[o + 2] as number, out[o + 3] as number, nsText(sec, nsec));
  if ((mode & S_IFMT) === S_IFDIR)
    return { path: r, type: 'dir', size: 0, mtimeMs, mode: mode & 0o7777, attrs };
  return { path: r, type: 'file', size: out[o + 4] as number, mtimeMs, mode: mode & 0o7777, attrs };
}

/** sec * 1e9 + nsec as a decimal text, as a BigInt ns prints (nsec in [0, 1e9)). */
export function nsText(sec: number, nsec: number): string {
  if (sec > 0 && Number.isSafeInteger(sec)) return `${sec}${String(nsec).padStart(9, '0')}`;
  return (BigInt(sec) * 1_000_000_000n + BigInt(nsec)).toString();
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
