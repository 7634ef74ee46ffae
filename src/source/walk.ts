// Walks a connection's source tree in the index's path order: depth first, each directory's
// names sorted by their bytes, a directory right before its contents. Merged with the index's
// own walk (PathIndex.stampsAhead), a reconciliation compares the two one entry at a time, with
// one page of each in memory whatever the size of the tree.
import { readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { fsPath, nameFromBytes } from '../shared/name-bytes.js';
import type { PathFilter } from './filter.js';
import { lstatResult, type WalkStat } from './stat-pool.js';

/** A source entry found by the walk. */
export interface WalkEntry {
  rel: string;
  /** A Stats, or (walkInChunks) what a comparison reads of one. */
  st: WalkStat;
  /** Its index key (path-key.ts: the path's bytes, each '/' a 0x00): compared with the index's. */
  key: Buffer;
}

/**
 * A directory the walk could not list, or a name it could not lstat: what the index holds there
 * and below must not count as gone.
 */
export interface Unreadable {
  rel: string;
  unreadable: string;
  /** Its index key, as WalkEntry's. */
  key: Buffer;
}

/**
 * A directory's names in path order (by their bytes), read synchronously: an await on the thread
 * pool per directory was a third of a no-change restart's time on a busy machine (10,000
 * directories, two walks), and sorting names as strings turned each into bytes per comparison.
 */
export function sortedNames(dir: string): string[] {
  // An ASCII name's latin1 string is the name itself; any other is decoded from its bytes.
  return sortedLatin1(dir).map((s) =>
    HIGH_BYTE.test(s) ? nameFromBytes(Buffer.from(s, 'latin1')) : s,
  );
}

/** A directory's names as readdir's bytes, in path order (the restart's lister uses it too). */
export function sortedNameBytes(dir: string | Buffer): Buffer[] {
  return sortedLatin1(dir).map((s) => Buffer.from(s, 'latin1'));
}

/** A latin1 char that is no ASCII byte. */
const HIGH_BYTE = /[\u0080-\u00ff]/;

/**
 * readdir's names as latin1 strings (one char per byte: lossless), sorted: a string sort compares
 * char codes, here the bytes, so the order is Buffer.compare's. readdir's 'buffer' encoding made
 * a Buffer per name at ~2.3 µs each, three quarters of listing a directory.
 */
function sortedLatin1(dir: string | Buffer): string[] {
  return readdirSync(fsPath(dir), { encoding: 'latin1' }).sort();
}

/** A directory being listed by walkInPathOrder. */
interface Level {
  rel: string;
  /** Its key followed by the separator (empty for the root): a child's key is this + its name. */
  keyPrefix: Buffer;
  names: Buffer[];
  next: number;
}

const SEP = Buffer.of(0);

/**
 * Every file, directory and symlink below `base` (filtered, links not followed), in path order,
 * each lstat'ed when the walk reaches it. Synchronous (the caller yields to the event loop: a
 * reconciliation every 512 entries), with an explicit stack: nested generators overflowed the
 * call stack a couple of thousand directories deep, and their await per entry and per level
 * cost more than the lstat. `beforeList` hears of each directory below the root right before it
 * is listed (a restart's walk places the watcher's watches: watched, then listed).
 */
export function* walkInPathOrder(
  base: string,
  filter: PathFilter,
  beforeList?: (rel: string, st: Stats) => void,
): Generator<WalkEntry | Unreadable> {
  // A name from readdir is never '', '.' or '..': a child's path is its parent's plus '/name'.
  const root = path.normalize(base);
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const stack: Level[] = [];
  const enter = (rel: string, key: Buffer, st?: Stats): Unreadable | null => {
    if (st) beforeList?.(rel, st);
    try {
      const keyPrefix = key.length ? Buffer.concat([key, SEP]) : key;
      stack.push({ rel, keyPrefix, names: sortedNameBytes(rel ? prefix + rel : root), next: 0 });
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      // Gone or replaced meanwhile: nothing is below it any more. Anything else (EACCES, EIO): the
      // walk cannot say what is there, so nothing below it may be taken for deleted.
      if (rel !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
      return { rel, unreadable: code, key };
    }
  };
  const rootUnreadable = enter('', Buffer.alloc(0));
  if (rootUnreadable) yield rootUnreadable;
  while (stack.length) {
    const dir = stack[stack.length - 1] as Level;
    const nb = dir.names[dir.next++];
    if (nb === undefined) {
      stack.pop();
      continue;
    }
    const name = nameFromBytes(nb);
    const rel = dir.rel ? `${dir.rel}/${name}` : name;
    // Synchronous: microseconds each, where the thread-pool round trip cost far more per entry.
    const st = lstatResult(fsPath(prefix + rel));
    if (st === null) continue;
    if (typeof st === 'string') {
      // Said, and what the index holds there is not taken for gone (unless filtered out anyway).
      const key = Buffer.concat([dir.keyPrefix, nb]);
      if (filter.dir(rel) || filter.file(rel)) yield { rel, unreadable: st, key };
    } else if (st.isDirectory()) {
      if (!filter.dir(rel)) continue;
      const key = Buffer.concat([dir.keyPrefix, nb]);
      yield { rel, st, key };
      const unreadable = enter(rel, key, st);
      if (unreadable) yield unreadable;
    } else if ((st.isFile() || st.isSymbolicLink()) && filter.file(rel)) {
      yield { rel, st, key: Buffer.concat([dir.keyPrefix, nb]) };
    }
  }
}
