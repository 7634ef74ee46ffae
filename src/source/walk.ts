// Walks a connection's source tree in the index's path order: depth first, each directory's
// names sorted by their bytes, a directory right before its contents. Merged with the index's
// own walk (PathIndex.entries), a reconciliation compares the two one entry at a time, with one
// page of each in memory whatever the size of the tree.
import { readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { lstatOrNull } from '../shared/fsutil.js';
import { fsPath, nameFromBytes } from '../shared/name-bytes.js';
import type { PathFilter } from './filter.js';
import { specialType } from './entry-type.js';
import type { ScanEntry, ScanSkip } from './scan.js';
import { unsupported } from './skipped.js';

/** A source entry found by the walk. */
export interface WalkEntry {
  rel: string;
  st: Stats;
}

/** A directory the walk could not list: what the index holds below it must not count as gone. */
export interface Unreadable {
  rel: string;
  unreadable: string;
}

const YIELD_EVERY = 512;

/**
 * A directory's names in path order (by their bytes), read synchronously: an await on the thread
 * pool per directory was a third of a no-change restart's time on a busy machine (10,000
 * directories, two walks), and sorting names as strings turned each into bytes per comparison.
 */
export function sortedNames(dir: string): string[] {
  const raw = readdirSync(fsPath(dir), { encoding: 'buffer' });
  raw.sort(Buffer.compare);
  return raw.map(nameFromBytes);
}

/** Every file, directory and symlink below `base` (filtered, links not followed), in path order. */
export async function* walkInPathOrder(
  base: string,
  filter: PathFilter,
): AsyncGenerator<WalkEntry | Unreadable> {
  const counter = { n: 0 };
  yield* walkDir(base, filter, '', counter);
}

async function* walkDir(
  base: string,
  filter: PathFilter,
  rel: string,
  counter: { n: number },
): AsyncGenerator<WalkEntry | Unreadable> {
  let names: string[];
  try {
    names = sortedNames(rel ? path.join(base, ...rel.split('/')) : base);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    // Gone or replaced meanwhile: nothing is below it any more. Anything else (EACCES, EIO): the
    // walk cannot say what is there, so nothing below it may be taken for deleted.
    if (rel !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) return;
    yield { rel, unreadable: code };
    return;
  }
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    // Synchronous: microseconds each, where the thread-pool round trip cost far more per entry.
    const st = lstatOrNull(path.join(base, ...r.split('/')));
    if (!st) continue;
    if (++counter.n % YIELD_EVERY === 0) await new Promise((ok) => setImmediate(ok));
    if (st.isDirectory()) {
      if (!filter.dir(r)) continue;
      yield { rel: r, st };
      yield* walkDir(base, filter, r, counter);
    } else if ((st.isFile() || st.isSymbolicLink()) && filter.file(r)) {
      yield { rel: r, st };
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
    const st = lstatOrNull(path.join(base, ...r.split('/')));
    if (!st) continue;
    if (++n % YIELD_EVERY === 0) await new Promise((ok) => setImmediate(ok));
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
