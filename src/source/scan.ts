// Walks a connection's source tree (filtered, links not followed), yielding entries in batches.
import { type Stats } from 'node:fs';
import path from 'node:path';
import type { PathFilter } from './filter.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { unsupported } from './skipped.js';
import { specialType, type ScanStat } from './entry-type.js';
import { sortedNames } from './walk.js';
import { nextTurn, YIELD_EVERY } from '../shared/yield.js';

/** One source entry found by a scan. */
export interface ScanEntry<S extends ScanStat = Stats> {
  rel: string;
  st: S;
}

/** What a scan met but does not yield: a type smr does not send, a directory it cannot list. */
export interface ScanSkip {
  rel: string;
  reason: string;
  why: string;
}

/**
 * Depth-first walk of `base` (or of its subdirectory `under`); directories come before their
 * contents. `onSkip` hears of what is not yielded, but not of what the filter leaves out. Fifos,
 * sockets and devices only with `specials` (the mirror sends them; nothing else may open one: a
 * fifo's open blocks); without, they are skipped (verify cannot compare them: it says so).
 */
export async function* scanTree(
  base: string,
  filter: PathFilter,
  under = '',
  onSkip?: (s: ScanSkip) => void,
  specials = false,
): AsyncGenerator<ScanEntry> {
  const stack: string[] = [under];
  let sinceYield = 0;
  while (stack.length) {
    const rel = stack.pop() as string;
    let names: string[];
    try {
      names = sortedNames(rel ? path.join(base, ...rel.split('/')) : base);
    } catch (err) {
      // Vanished while walking: the watcher reports it. Anything else (EACCES) is said.
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        onSkip?.({ rel: rel || '.', reason: 'unreadable', why: `cannot list it (${code})` });
      continue;
    }
    const dirs: string[] = [];
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      // Synchronous: microseconds each, where the thread-pool round trip cost far more per entry.
      const st = lstatOrNull(path.join(base, ...r.split('/')));
      if (!st) continue;
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await nextTurn(); // let I/O in: a huge directory must not stall the daemon
      }
      if (st.isDirectory()) {
        if (!filter.dir(r)) continue;
        dirs.push(r);
        yield { rel: r, st };
      } else if (st.isFile() || st.isSymbolicLink() || (specials && specialType(st))) {
        if (filter.file(r)) yield { rel: r, st };
      } else if (onSkip && filter.file(r)) {
        const [reason, what] = unsupported(st);
        onSkip({
          rel: r,
          reason,
          why: `${what} is not read by this walk (only the mirror sends special entries)`,
        });
      }
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i] as string);
  }
}
