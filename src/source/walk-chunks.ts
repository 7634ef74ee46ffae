// walkInPathOrder's walk (walk.ts: the same entries, in the same order, with the same skips) for
// a reconciliation, a chunk of entries at a time, on both cores. The main thread lists each
// directory (right after beforeList heard of it: a restart watches it first) and lstats the
// directories itself, as it must know them to descend; the lstat of every other name goes to a
// StatPool, a worker thread once the tree is big enough. While the worker stats one chunk, the
// main thread merges the chunk before it with the index and lists the next.
import { readdirSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { nameBytes, nameFromBytes } from '../shared/name-bytes.js';
import type { PathFilter } from './filter.js';
import { lstatResult, StatPool, type StatResult } from './stat-pool.js';
import type { Unreadable, WalkEntry } from './walk.js';

/** Entries per chunk (one message to the worker and one back). */
const CHUNK = 1024;
const SEP = Buffer.of(0);
const SLASH = Buffer.from('/');

type Out = WalkEntry | Unreadable;

/** A directory being listed. */
interface Level {
  rel: string;
  /** Its key followed by the separator (empty for the root): a child's key is this + its name. */
  keyPrefix: Buffer;
  /** Its path's bytes followed by '/': a child's path is this + its name. */
  dirBytes: Buffer;
  names: Array<Dirent<Buffer>>;
  next: number;
}

/** A chunk in path order; `waiting` names where the StatPool's results go, in order. */
interface Chunk {
  out: Array<Out | null>;
  waiting: Array<{ at: number; rel: string; key: Buffer }>;
  /** The waiting names' paths as the pool takes them: each path's bytes, then a NUL. */
  parts: Buffer[];
}

class ChunkWalk {
  private readonly stack: Level[] = [];

  constructor(
    private readonly filter: PathFilter,
    private readonly beforeList?: (rel: string, st: Stats) => void,
  ) {}

  /** Lists `rel` (after beforeList hears of it); what to yield when it cannot be listed. */
  enter(rel: string, key: Buffer, at: Buffer, dirBytes: Buffer, st?: Stats): Unreadable | null {
    if (st) this.beforeList?.(rel, st);
    try {
      const keyPrefix = key.length ? Buffer.concat([key, SEP]) : key;
      // Listed at its path without a trailing '/': that byte more failed at PATH_MAX.
      const names = readdirSync(at, { withFileTypes: true, encoding: 'buffer' });
      names.sort((a, b) => Buffer.compare(a.name, b.name));
      this.stack.push({ rel, keyPrefix, dirBytes, names, next: 0 });
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      // As walkInPathOrder: gone or replaced meanwhile, nothing is below it; anything else
      // (EACCES, EIO) and nothing below it may be taken for deleted.
      if (rel !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
      return { rel, unreadable: code, key };
    }
  }

  /** The next chunk of up to CHUNK entries, null once the walk is over. */
  fill(): Chunk | null {
    const c: Chunk = { out: [], waiting: [], parts: [] };
    while (this.stack.length && c.out.length < CHUNK) {
      const dir = this.stack[this.stack.length - 1] as Level;
      const d = dir.names[dir.next++];
      if (d === undefined) {
        this.stack.pop();
        continue;
      }
      const name = nameFromBytes(d.name);
      const rel = dir.rel ? `${dir.rel}/${name}` : name;
      const key = Buffer.concat([dir.keyPrefix, d.name]);
      if (!d.isDirectory()) {
        // Its lstat comes later, from the pool; its place in the order is kept.
        c.waiting.push({ at: c.out.length, rel, key });
        c.parts.push(dir.dirBytes, d.name, SEP); // joined once for the whole chunk
        c.out.push(null);
        continue;
      }
      const bytes = Buffer.concat([dir.dirBytes, d.name]);
      const st = lstatResult(bytes);
      const e = this.judge(rel, key, st);
      if (e) c.out.push(e);
      if (e && typeof st === 'object' && st?.isDirectory()) {
        const unreadable = this.enter(rel, key, bytes, Buffer.concat([bytes, SLASH]), st);
        if (unreadable) c.out.push(unreadable);
      }
    }
    return c.out.length ? c : null;
  }

  /** The chunk's entries once the pool's lstats are in. */
  async resolve(c: Chunk, pool: StatPool): Promise<Out[]> {
    const n = c.waiting.length;
    const stats = n ? await pool.many(Buffer.concat(c.parts), n) : [];
    c.waiting.forEach((w, i) => (c.out[w.at] = this.judge(w.rel, w.key, stats[i] ?? null)));
    return c.out.filter((e): e is Out => e !== null);
  }

  /**
   * What walkInPathOrder yields for a name lstat'ed as `st`: null when gone or filtered out. A
   * directory the pool found where the listing said something else was replaced since: it is
   * yielded but not listed (what the index holds below it is then marked, and looked at again by
   * the sweep), and its parent's watch reports it, which watches and hints all of it.
   */
  private judge(rel: string, key: Buffer, st: StatResult): Out | null {
    if (st === null) return null;
    if (typeof st === 'string')
      return this.filter.dir(rel) || this.filter.file(rel) ? { rel, unreadable: st, key } : null;
    if (st.isDirectory()) return this.filter.dir(rel) ? { rel, st, key } : null;
    if (st.isFile() || st.isSymbolicLink()) return this.filter.file(rel) ? { rel, st, key } : null;
    return null;
  }
}

/**
 * Every file, directory and symlink below `base` (filtered, links not followed) in path order,
 * as walkInPathOrder yields them, a chunk at a time. The chunk after the one yielded is being
 * stat'ed meanwhile; the pool's worker ends with the walk.
 */
export async function* walkInChunks(
  base: string,
  filter: PathFilter,
  beforeList?: (rel: string, st: Stats) => void,
  pool = new StatPool(),
): AsyncGenerator<Out[]> {
  const root = path.normalize(base);
  const prefix = nameBytes(root.endsWith('/') ? root : `${root}/`);
  const w = new ChunkWalk(filter, beforeList);
  try {
    const rootUnreadable = w.enter('', Buffer.alloc(0), nameBytes(root), prefix);
    if (rootUnreadable) yield [rootUnreadable];
    let pending: Promise<Out[]> | null = null;
    for (;;) {
      const c = w.fill();
      const next = c && w.resolve(c, pool);
      next?.catch(() => undefined); // awaited below, in its turn
      if (pending) yield await pending;
      if (!next) return;
      pending = next;
    }
  } finally {
    pool.close();
  }
}
