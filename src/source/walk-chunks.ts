// walkInPathOrder's walk (walk.ts: the same entries, in the same order, with the same skips) for
// a reconciliation, an entry at a time, on both cores. A DirLister lists each directory (sorted
// names, each with its lstat) on a worker thread once the tree is big enough, a few directories
// ahead of the one the main thread merges with the index; the main thread reads each listing in
// place: the cursor's `st` and key comparison read the packed arrays, and a path, a key or an
// entry object is built only for the entries a reconciliation acts on (an object, a Buffer key
// and a path string per entry, and their garbage, were most of a no-change restart's main
// thread). Watches first: a directory is asked for only right after beforeList heard of it (a
// restart watches it then), so whatever changes in it after it was listed is in an event.
// Directories are asked for in path order, but a subdirectory only once its parent was reached:
// beforeList hears of each directory before its contents, not strictly in path order.
import path from 'node:path';
import { nameBytes, nameFromBytes } from '../shared/name-bytes.js';
import { DirLister, nameStart, type Listing, type Names } from './dir-lister.js';
import type { PathFilter } from './filter.js';
import { packedDir, statAt, StatView, type WalkStat } from './stat-pool.js';
import type { Unreadable, WalkEntry } from './walk.js';
import { toAsk } from './walk-ahead.js';

const SEP = Buffer.of(0);
const SLASH = Buffer.from('/');

/** A directory below the one being walked, to be listed when the walk reaches it. */
interface Sub {
  rel: string;
  key: Buffer;
  /** Its path's bytes. */
  at: Buffer;
  st: WalkStat;
  /** Its name's index in its parent's listing. */
  i: number;
  /** Asked for (after beforeList heard of it), and what came. */
  listing?: Promise<Listing>;
  got?: Listing;
}

/** A directory being walked. */
interface Level {
  rel: string;
  /** Its key followed by the separator (empty for the root): a child's key is this + its name. */
  keyPrefix: Buffer;
  l: Names;
  /** The next name to visit, and the error codes of the names before it. */
  next: number;
  code: number;
  /** Its subdirectories the walk descends into, in order; `nextSub` is the next to reach. */
  subs: Sub[];
  nextSub: number;
  /** The filter takes every name here: it need not be asked (PathFilter.refusedHold). */
  clean: boolean;
}

/**
 * walkInPathOrder's entries, one at a time: `advance()` moves to the next one (0: first await
 * `ready()`), whose stat `st` and `unreadable` are read in place; `rel`, `key` and `entry()` are
 * built when asked. The cursor moves: keep `st.copy()`, not `st`.
 */
export class WalkCursor {
  /** The current entry's stat (when it is not unreadable). */
  readonly st = new StatView();
  /** Why the current entry cannot be read (an Unreadable), or null. */
  unreadable: string | null = null;
  private readonly stack: Level[] = [];
  private level: Level | null = null;
  private i = 0;
  /** A directory that could not be listed: the current entry, in place of a listed name. */
  lone: Unreadable | null = null;
  private relText: string | null = null;
  /** The subdirectory of the current entry, entered on the next advance. */
  private descend: Sub | null = null;
  private readonly f: number; // numbers per name in a listing

  constructor(
    private readonly filter: PathFilter,
    private readonly lister: DirLister,
    private readonly beforeList?: (rel: string, st: WalkStat) => void,
    /** Fifos, sockets and devices are entries too (the mirror's scan), not passed over. */
    private readonly others = false,
  ) {
    this.f = lister.fields;
  }

  /** Starts at `base`'s root listing (before the first advance). */
  async start(base: string): Promise<void> {
    const root = path.normalize(base);
    // Without a trailing '/' (but '/' itself): a name's path is its directory's, '/', the name.
    const at = nameBytes(root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root);
    const sub: Sub = { rel: '', key: Buffer.alloc(0), at, st: null as never, i: -1 };
    sub.got = await this.lister.list(at);
    this.descend = sub;
  }

  /** Moves to the next entry: 1 there is one, 0 await ready() first, -1 the walk is over. */
  advance(): number {
    const sub = this.descend;
    this.lone = null;
    this.relText = null;
    this.unreadable = null;
    if (sub) {
      if (!sub.got) return 0;
      this.descend = null;
      const u = this.push(sub, sub.got);
      if (u) {
        this.lone = u;
        this.unreadable = u.unreadable;
        return 1;
      }
    }
    for (;;) {
      const lv = this.stack[this.stack.length - 1];
      if (!lv) return -1;
      const i = lv.next++;
      if (i >= lv.l.ends.length) {
        this.stack.pop();
        continue;
      }
      const o = i * this.f;
      const status = lv.l.out[o];
      if (status === 0) continue; // gone meanwhile
      this.level = lv;
      this.i = i;
      this.relText = null;
      this.st.out = lv.l.out;
      this.st.o = o;
      if (status === 2) {
        const code = lv.l.codes[lv.code++] ?? 'error';
        if (!lv.clean && !this.filter.dir(this.rel) && !this.filter.file(this.rel)) continue;
        this.unreadable = code;
        return 1;
      }
      const st = this.st;
      const dir = st.isDirectory();
      if (!dir && !st.isFile() && !st.isSymbolicLink() && !this.others) continue; // not walked
      if (!lv.clean && !(dir ? this.filter.dir(this.rel) : this.filter.file(this.rel))) continue;
      const next = lv.subs[lv.nextSub];
      if (dir && next?.i === i) {
        lv.nextSub++;
        this.descend = next;
      }
      return 1;
    }
  }

  /** Waits for the listing the next advance() enters. */
  async ready(): Promise<void> {
    const sub = this.descend;
    if (sub && !sub.got) await this.ask(sub); // ask() notes what came in sub.got
  }

  /** The current entry's path below the root. */
  get rel(): string {
    if (this.lone) return this.lone.rel;
    if (this.relText === null) {
      const lv = this.level as Level;
      const n = nameFromBytes(this.name(lv, this.i));
      this.relText = lv.rel ? `${lv.rel}/${n}` : n;
    }
    return this.relText;
  }

  /** The current entry's index key (a new Buffer). */
  get key(): Buffer {
    if (this.lone) return this.lone.key;
    const lv = this.level as Level;
    return Buffer.concat([lv.keyPrefix, this.name(lv, this.i)]);
  }

  /** The current entry as an object of its own. */
  entry(): WalkEntry | Unreadable {
    const { rel, key } = this;
    return this.unreadable !== null
      ? { rel, unreadable: this.unreadable, key }
      : { rel, st: this.st.copy(), key };
  }

  /**
   * How key bytes `keys[s..e)` compare with the current entry's key (negative: before it), read
   * in place: its directory's key prefix, then its name.
   */
  compareKey(keys: Uint8Array, s: number, e: number): number {
    if (this.lone) return Buffer.compare(keys.subarray(s, e), this.lone.key);
    const lv = this.level as Level;
    const p = lv.keyPrefix;
    let k = s;
    for (let j = 0; j < p.length; j++, k++) {
      if (k === e) return -1;
      const d = (keys[k] as number) - (p[j] as number);
      if (d !== 0) return d;
    }
    const b = lv.l.bytes;
    const end = lv.l.ends[this.i] as number;
    for (let j = nameStart(lv.l, this.i); j < end; j++, k++) {
      if (k === e) return -1;
      const d = (keys[k] as number) - (b[j] as number);
      if (d !== 0) return d;
    }
    return k === e ? 0 : 1;
  }

  /** Ends the lister's workers. */
  close(): void {
    this.lister.close();
  }

  private name(lv: Level, i: number): Buffer {
    return lv.l.bytes.subarray(nameStart(lv.l, i), lv.l.ends[i]);
  }

  /** Walks `sub`'s listing next; what to return when it could not be listed. */
  private push(sub: Sub, l: Listing): Unreadable | null {
    const { rel, key } = sub;
    if ('error' in l) {
      // As walkInPathOrder: gone or replaced meanwhile, nothing is below it; anything else
      // (EACCES, EIO) and nothing below it may be taken for deleted.
      if (rel !== '' && (l.error === 'ENOENT' || l.error === 'ENOTDIR')) return null;
      return { rel, unreadable: l.error, key };
    }
    const keyPrefix = key.length ? Buffer.concat([key, SEP]) : key;
    const dirBytes = sub.at[sub.at.length - 1] === 0x2f ? sub.at : Buffer.concat([sub.at, SLASH]);
    const clean = this.clean(rel, l);
    const lv: Level = { rel, keyPrefix, l, next: 0, code: 0, subs: [], nextSub: 0, clean };
    for (let i = 0; i < l.ends.length; i++) {
      const o = i * this.f;
      // Directories only: a stat object for each of them, none for the rest.
      if (!packedDir(l.out, o)) continue;
      const st = statAt(l.out, o, '') as WalkStat;
      const name = this.name(lv, i);
      const n = nameFromBytes(name);
      const r = rel ? `${rel}/${n}` : n;
      if (!clean && !this.filter.dir(r)) continue;
      const at = Buffer.concat([dirBytes, name]);
      lv.subs.push({ rel: r, key: Buffer.concat([keyPrefix, name]), at, st, i });
    }
    this.stack.push(lv);
    this.askAhead();
    return null;
  }

  /**
   * Whether the filter takes every name of directory `rel`, listed as `l`, without being asked:
   * it names texts every path it turns away holds (ASCII, no '/'), and neither the directory's
   * path nor any name holds one. (A name's bytes hold an ASCII text exactly when its string
   * does: nameFromBytes maps no other byte to ASCII.)
   */
  private clean(rel: string, l: Names): boolean {
    const texts = this.filter.refusedHold;
    if (!texts) return false;
    const n = l.ends.length;
    const names = l.bytes.subarray(l.first, n ? l.ends[n - 1] : l.first);
    return !texts.some((t) => rel.includes(t) || names.includes(t));
  }

  /** `sub`'s listing, asked for now unless it was already: watched (beforeList) first. */
  private ask(sub: Sub): Promise<Listing> {
    if (!sub.listing) {
      this.beforeList?.(sub.rel, sub.st);
      sub.listing = this.lister.list(sub.at).then((l) => (sub.got = l));
    }
    return sub.listing;
  }

  /** Asks for the directories the walk reaches next (walk-ahead.ts). */
  private askAhead(): void {
    for (const sub of toAsk(this.stack)) void this.ask(sub);
  }
}

/**
 * A cursor over every file, directory and symlink below `base` (filtered, links not followed) in
 * path order, as walkInPathOrder yields them. Close it when done: the lister's workers end then.
 */
export async function walkCursor(
  base: string,
  filter: PathFilter,
  beforeList?: (rel: string, st: WalkStat) => void,
  lister = new DirLister(),
): Promise<WalkCursor> {
  const w = new WalkCursor(filter, lister, beforeList);
  try {
    await w.start(base);
  } catch (err) {
    w.close();
    throw err;
  }
  return w;
}
