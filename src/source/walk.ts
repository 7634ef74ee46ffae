// Walks a connection's source tree in the index's path order: depth first, each directory's
// names sorted by their bytes, a directory right before its contents. Merged with the index's
// own walk (PathIndex.stampsAhead), a reconciliation compares the two one entry at a time, with
// one page of each in memory whatever the size of the tree.
import { readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { lstatOrNull } from '../shared/fsutil.js';
import { fsPath, nameFromBytes } from '../shared/name-bytes.js';
import type { PathFilter } from './filter.js';
import { specialType } from './entry-type.js';
import { lstatResult, type WalkStat } from './stat-pool.js';
import type { ScanEntry, ScanSkip } from './scan.js';
import { unsupported } from './skipped.js';
import { nextTurn, YIELD_EVERY } from '../shared/yield.js';

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

/**
 * scan.ts's scanTree in path order: the same entries and skips, each directory's contents right
 * after it. A mirror consumes the target's listing, which is kept in this order, beside it
 * (index/listing-merge.ts) instead of looking each path up. An explicit stack, not nested
 * generators: those overflow the call stack a couple of thousand directories deep.
 */
export async function* scanInPathOrder(
  base: string,
  filter: PathFilter,
  onSkip?: (s: ScanSkip) => void,
  specials = false,
): AsyncGenerator<ScanEntry> {
  const stack: Array<{ rel: string; names: string[]; next: number }> = [];
  // A child's path is the root's plus '/rel': path.join per entry (a split, a join and a
  // normalisation) cost about as much as its lstat.
  const root = path.normalize(base);
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const enter = (rel: string): void => {
    const names = listOrSkip(base, rel, onSkip);
    if (names) stack.push({ rel, names, next: 0 });
  };
  enter('');
  let n = 0;
  while (stack.length) {
    const dir = stack[stack.length - 1] as (typeof stack)[number];
    const name = dir.names[dir.next++];
    if (name === undefined) {
      stack.pop();
      continue;
    }
    const r = dir.rel ? `${dir.rel}/${name}` : name;
    const st = lstatOrNull(prefix + r);
    if (!st) continue;
    if (++n % YIELD_EVERY === 0) await nextTurn();
    if (st.isDirectory()) {
      if (!filter.dir(r)) continue;
      yield { rel: r, st };
      enter(r);
    } else if (st.isFile() || st.isSymbolicLink() || (specials && specialType(st))) {
      if (filter.file(r)) yield { rel: r, st };
    } else if (onSkip && filter.file(r)) {
      const [reason, what] = unsupported(st);
      const why = `${what} is not read by this walk (only the mirror sends special entries)`;
      onSkip({ rel: r, reason, why });
    }
  }
}

/** A directory's names in path order; null when it is gone or cannot be listed (then said). */
function listOrSkip(base: string, rel: string, onSkip?: (s: ScanSkip) => void): string[] | null {
  try {
    return sortedNames(rel ? path.join(base, ...rel.split('/')) : base);
  } catch (err) {
    // Vanished while walking: the watcher reports it. Anything else (EACCES) is said.
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      onSkip?.({ rel: rel || '.', reason: 'unreadable', why: `cannot list it (${code})` });
    return null;
  }
}
