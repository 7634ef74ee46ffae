// Walks a connection's source tree (filtered, links not followed), yielding entries in batches.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import type { PathFilter } from './filter.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { specialType } from './entry-type.js';

/** One source entry found by a scan. */
export interface ScanEntry {
  rel: string;
  st: Stats;
}

const YIELD_EVERY = 512;

/**
 * Depth-first walk of `base` (or of its subdirectory `under`); directories come before their
 * contents. Fifos, sockets and devices only with `specials` (the mirror sends them; nothing else
 * may open one: a fifo's open blocks).
 */
export async function* scanTree(
  base: string,
  filter: PathFilter,
  under = '',
  specials = false,
): AsyncGenerator<ScanEntry> {
  const stack: string[] = [under];
  let sinceYield = 0;
  while (stack.length) {
    const rel = stack.pop() as string;
    let names: string[];
    try {
      names = await fsp.readdir(rel ? path.join(base, ...rel.split('/')) : base);
    } catch {
      continue; // vanished while walking: the watcher reports it
    }
    names.sort();
    const dirs: string[] = [];
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      // Synchronous: microseconds each, where the thread-pool round trip cost far more per entry.
      const st = lstatOrNull(path.join(base, ...r.split('/')));
      if (!st) continue;
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r)); // let I/O in: a huge directory must not stall the daemon
      }
      if (st.isDirectory()) {
        if (!filter.dir(r)) continue;
        dirs.push(r);
        yield { rel: r, st };
      } else if (st.isFile() || st.isSymbolicLink() || (specials && specialType(st))) {
        if (filter.file(r)) yield { rel: r, st };
      }
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i] as string);
  }
}
