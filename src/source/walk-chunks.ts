// walkInPathOrder's walk (walk.ts: the same entries, in the same order, with the same skips) for
// a reconciliation, a chunk of entries at a time, on both cores. A DirLister lists each directory
// (sorted names, each with its lstat) on a worker thread once the tree is big enough, a few
// directories ahead of the one the main thread merges with the index; the main thread only turns
// the listings into entries. Watches first: a directory is asked for only right after beforeList
// heard of it (a restart watches it then), so whatever changes in it after it was listed is in
// an event. Directories are asked for in path order, but a subdirectory only once its parent was
// reached: beforeList hears of each directory before its contents, not strictly in path order.
import path from 'node:path';
import { nameBytes, nameFromBytes } from '../shared/name-bytes.js';
import { DirLister, type Listing } from './dir-lister.js';
import type { PathFilter } from './filter.js';
import type { StatResult, WalkStat } from './stat-pool.js';
import type { Unreadable, WalkEntry } from './walk.js';

/** Entries per chunk (yielded to the merge at once). */
const CHUNK = 1024;
/** Directories asked for ahead of the one being walked. */
const AHEAD = 32;
const SEP = Buffer.of(0);
const SLASH = Buffer.from('/');

type Out = WalkEntry | Unreadable;

/** A directory below the one being walked, to be listed when the walk reaches it. */
interface Sub {
  rel: string;
  key: Buffer;
  /** Its path's bytes. */
  at: Buffer;
  st: WalkStat;
  /** Asked for (after beforeList heard of it). */
  listing?: Promise<Listing>;
}

/** A directory being walked. */
interface Level {
  rel: string;
  /** Its key followed by the separator (empty for the root): a child's key is this + its name. */
  keyPrefix: Buffer;
  /** Its path's bytes followed by '/': a child's path is this + its name. */
  dirBytes: Buffer;
  names: Buffer[];
  stats: StatResult[];
  /** The names as strings, when the lister decoded them. */
  texts?: string[];
  next: number;
  /** Its subdirectories the walk descends into, in order; `nextSub` is the next to reach. */
  subs: Sub[];
  nextSub: number;
}

class ChunkWalk {
  private readonly stack: Level[] = [];

  constructor(
    private readonly filter: PathFilter,
    private readonly lister: DirLister,
    private readonly beforeList?: (rel: string, st: WalkStat) => void,
  ) {}

  /** Walks `l`'s listing of `rel` next; what to yield when it could not be listed. */
  push(rel: string, key: Buffer, at: Buffer, l: Listing): Unreadable | null {
    if ('error' in l) {
      // As walkInPathOrder: gone or replaced meanwhile, nothing is below it; anything else
      // (EACCES, EIO) and nothing below it may be taken for deleted.
      if (rel !== '' && (l.error === 'ENOENT' || l.error === 'ENOTDIR')) return null;
      return { rel, unreadable: l.error, key };
    }
    const keyPrefix = key.length ? Buffer.concat([key, SEP]) : key;
    const dirBytes = at[at.length - 1] === 0x2f ? at : Buffer.concat([at, SLASH]);
    const subs: Sub[] = [];
    l.stats.forEach((st, i) => {
      if (typeof st !== 'object' || !st?.isDirectory()) return;
      const name = l.names[i] as Buffer;
      const r = this.relOf(rel, name, l.texts?.[i]);
      if (!this.filter.dir(r)) return;
      subs.push({
        rel: r,
        key: Buffer.concat([keyPrefix, name]),
        at: Buffer.concat([dirBytes, name]),
        st,
      });
    });
    this.stack.push({ rel, keyPrefix, dirBytes, ...l, next: 0, subs, nextSub: 0 });
    this.askAhead();
    return null;
  }

  /** The next chunk of up to CHUNK entries, null once the walk is over. */
  async fill(): Promise<Out[] | null> {
    const out: Out[] = [];
    while (this.stack.length && out.length < CHUNK) {
      const dir = this.stack[this.stack.length - 1] as Level;
      const i = dir.next++;
      const name = dir.names[i];
      if (name === undefined) {
        this.stack.pop();
        continue;
      }
      const st = dir.stats[i] as StatResult;
      const rel = this.relOf(dir.rel, name, dir.texts?.[i]);
      const e = this.judge(rel, Buffer.concat([dir.keyPrefix, name]), st);
      if (!e) continue;
      out.push(e);
      const sub = dir.subs[dir.nextSub];
      if (sub?.rel !== rel) continue;
      dir.nextSub++;
      const unreadable = this.push(rel, e.key, sub.at, await this.ask(sub));
      if (unreadable) out.push(unreadable);
    }
    return out.length ? out : null;
  }

  /** `name`'s path below the root; `text`: the name as a string, when the lister decoded it. */
  private relOf(dirRel: string, name: Buffer, text?: string): string {
    const n = text ?? nameFromBytes(name);
    return dirRel ? `${dirRel}/${n}` : n;
  }

  /** `sub`'s listing, asked for now unless it was already: watched (beforeList) first. */
  private ask(sub: Sub): Promise<Listing> {
    if (!sub.listing) {
      this.beforeList?.(sub.rel, sub.st);
      sub.listing = this.lister.list(sub.at);
    }
    return sub.listing;
  }

  /**
   * Asks for the directories the walk reaches next, in path order, up to AHEAD of them; once
   * fewer than half that many are asked and not yet reached, so they go to the worker in batches.
   */
  private askAhead(): void {
    const todo: Sub[] = [];
    let asked = 0;
    for (let d = this.stack.length - 1; d >= 0 && todo.length + asked < AHEAD; d--) {
      const level = this.stack[d] as Level;
      for (let s = level.nextSub; s < level.subs.length && todo.length + asked < AHEAD; s++) {
        const sub = level.subs[s] as Sub;
        if (sub.listing) asked++;
        else todo.push(sub);
      }
    }
    if (asked < AHEAD / 2) for (const sub of todo) void this.ask(sub);
  }

  /**
   * What walkInPathOrder yields for a name lstat'ed as `st`: null when gone or filtered out.
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
 * as walkInPathOrder yields them, a chunk at a time. The lister's worker ends with the walk.
 */
export async function* walkInChunks(
  base: string,
  filter: PathFilter,
  beforeList?: (rel: string, st: WalkStat) => void,
  lister = new DirLister(),
): AsyncGenerator<Out[]> {
  const root = path.normalize(base);
  const w = new ChunkWalk(filter, lister, beforeList);
  try {
    // Without a trailing '/' (but '/' itself): a name's path is its directory's, '/', the name.
    const at = nameBytes(root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root);
    const rootUnreadable = w.push('', Buffer.alloc(0), at, await lister.list(at));
    if (rootUnreadable) yield [rootUnreadable];
    for (let c = await w.fill(); c; c = await w.fill()) yield c;
  } finally {
    lister.close();
  }
}
