// The native backend: one kernel watch per directory (inotify on Linux, through Node's own
// fs.watch), none per file; a directory's watch names every entry that changes in it. Measured
// against chokidar and @parcel/watcher in bench/RESULTS.md ("Scale", "Watchers alone"): at a
// million files it is ready in about a second with ~30 MiB of its own and hands each event on at
// once (parcel holds every event at least 50 ms and keeps every file's path in memory).
//
// The rules that make it complete:
// - A directory is watched before it is listed, so an entry created meanwhile is either in the
//   listing or in an event — never in neither.
// - A name reported as created, deleted or moved is looked at once the current pass of events is
//   read: a directory that is not watched under that name (new, moved in, or replaced by another
//   one) gets a watch, and every entry below it is hinted (watched first, then listed, level by
//   level); a name that is no longer a directory loses the watches below it. A moved directory
//   therefore ends up watched under its new name, with both names hinted.
// - A pass of events big enough for the kernel's queue to have overflowed is reported to the sink
//   as a miss (watch-overflow.ts): capture then rescans the tree.
import fs, { readdirSync, realpathSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { log } from '../shared/log.js';
import { nextTurn } from '../shared/yield.js';
import { lstatOrNull } from '../shared/fsutil.js';
import type { PathFilter } from './filter.js';
import type { DirId, WatchSink, Watcher, WatcherStats } from './watcher.js';
import { WatchFailures } from './watch-failures.js';
import { sharedEventPass, type EventPass } from './watch-overflow.js';
import { fsPath, nameFromBytes } from '../fsmeta/index.js';

/** Directories listed per turn of the event loop while walking (events are read in between). */
const DIRS_PER_TURN = 64;

interface DirWatch {
  rel: string;
  dev: number;
  ino: number;
  handle: FSWatcher;
  children: Set<string>;
}

/** Why the native backend cannot run on this platform, or null when it can. */
export function nativeUnavailable(platform = process.platform): string | null {
  // Elsewhere fs.watch has other costs (macOS re-creates one FSEvents stream per directory added)
  // and no overflow signal we can detect; chokidar is the measured, portable choice there.
  return platform === 'linux' ? null : `it is built on inotify and this is ${platform}`;
}

const parentOf = (rel: string): string => rel.slice(0, Math.max(rel.lastIndexOf('/'), 0));

/** Per-directory watches of one tree. */
export class NativeWatcher implements Watcher {
  readonly backend = 'native' as const;
  private readonly dirs = new Map<string, DirWatch>();
  private readonly toList: Array<{ rel: string; announce: boolean }> = [];
  private readonly toReconcile = new Set<string>();
  private reconcileScheduled = false;
  private walking: Promise<void> = Promise.resolve();
  private walkRunning = false;
  private closed = false;
  private readonly failures = new WatchFailures();
  private readonly stopListening: () => void;
  private rootId: string | null = null;

  constructor(
    private readonly base: string,
    private readonly filter: PathFilter,
    private readonly sink: WatchSink,
    private readonly pass: EventPass,
  ) {
    this.stopListening = pass.listen((n) =>
      sink.missed(
        `${n} file system events in one read: the kernel's event queue may have overflowed`,
      ),
    );
  }

  /**
   * Watches the root, then every directory below it; resolves once all are watched. `deferred`:
   * the root alone; a restart's walk, which lists every directory anyway, watches each right
   * before listing it (place, the order kept here), and the tree is listed once, not twice.
   */
  async start(deferred = false): Promise<void> {
    const st = lstatOrNull(this.base);
    if (!st?.isDirectory()) throw new Error(`${this.base} is not a directory`);
    this.rootId = `${st.dev}:${st.ino}`;
    this.addWatch('', st, true);
    if (!deferred) this.list('', false);
    await this.walking;
  }

  /** A deferred start's walk is about to list `rel`, lstat'ed as `st`: it is watched first. */
  place(rel: string, st: DirId): void {
    if (!this.closed && rel) this.addWatch(rel, st, false);
  }

  /** A deferred start's walk failed: each watched directory listed watches those below it. */
  placeRest(): void {
    if (!this.closed) for (const rel of [...this.dirs.keys()]) this.list(rel, false);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening();
    for (const w of this.dirs.values()) w.handle.close();
    this.dirs.clear();
    this.toList.length = 0;
    await this.walking;
  }

  watchDir(rel: string): void {
    if (!this.closed) this.reconcile(rel, false);
  }

  stats(): WatcherStats {
    return { backend: 'native', watchedDirs: this.dirs.size, unwatched: this.failures.count };
  }

  /** Resolves once no directory is waiting to be listed (tests, and start). */
  async settled(): Promise<void> {
    while (this.walkRunning || this.reconcileScheduled) {
      await (this.walkRunning ? this.walking : nextTurn());
    }
  }

  private abs(rel: string): string {
    return rel ? path.join(this.base, ...rel.split('/')) : this.base;
  }

  private onEvent(w: DirWatch, type: string, name: string | null): void {
    this.pass.note();
    if (this.closed) return;
    if (name === null) {
      // Windows' overflow signal, and nothing that names what changed: look at everything.
      this.sink.missed(`an unnamed change in ${w.rel || 'the source path'}`);
      return;
    }
    const rel = w.rel ? `${w.rel}/${name}` : name;
    this.sink.hint(rel);
    // A directory's own deletion or move also arrives on its own watch, named after itself: that
    // yields a wrong name here (D/D), which costs one failed check; its parent names it right.
    if (type === 'rename') this.scheduleReconcile(rel);
  }

  private scheduleReconcile(rel: string): void {
    this.toReconcile.add(rel);
    if (this.reconcileScheduled) return;
    this.reconcileScheduled = true;
    // After the pass: watches are neither opened nor closed while libuv reads the queue, so every
    // queued event still has its watch (and the overflow count stays whole).
    setImmediate(() => {
      this.reconcileScheduled = false;
      const names = [...this.toReconcile];
      this.toReconcile.clear();
      if (this.closed) return;
      this.checkRoot();
      for (const rel of names) this.reconcile(rel, true);
    });
  }

  /**
   * Brings the watches for `rel` in line with the disk. `renamed`: its parent reported the name
   * created, moved or deleted, so a directory there now may be another one than the watched one
   * even with the same inode number (`rm -rf d; mkdir d` reuses it at once) and the old watch died
   * with the old directory: it is renewed.
   */
  private reconcile(rel: string, renamed: boolean): void {
    if (renamed && this.dirs.has(rel)) this.closeTree(rel);
    const st = lstatOrNull(this.abs(rel));
    if (st?.isDirectory() && this.filter.dir(rel)) {
      if (this.addWatch(rel, st, false)) this.list(rel, true);
    } else if (this.dirs.has(rel)) this.closeTree(rel);
  }

  /** The source path itself replaced (its own events carry no usable name): watch the new one. */
  private checkRoot(): void {
    const st = lstatOrNull(this.base);
    if (!st?.isDirectory() || `${st.dev}:${st.ino}` === this.rootId) return;
    this.rootId = `${st.dev}:${st.ino}`;
    this.sink.missed('the source path was replaced by another directory');
    if (this.addWatch('', st, false)) this.list('', true);
  }

  /**
   * Watches `rel` unless it is already watched as this very directory; true when a watch was
   * added. A watch that cannot be added is logged and counted (the periodic rescan is then the only
   * way changes in that directory are found); on the root it throws.
   */
  private addWatch(rel: string, st: DirId, isRoot: boolean): boolean {
    const old = this.dirs.get(rel);
    if (old && old.dev === st.dev && old.ino === st.ino) return false;
    if (old) this.closeTree(rel);
    let handle: FSWatcher;
    try {
      // fs.watch looked up at call time: the latency bench's trace preload wraps it.
      // Names as bytes: a string name would have its non-UTF-8 bytes replaced by U+FFFD.
      handle = fs.watch(fsPath(this.abs(rel)), { persistent: true, encoding: 'buffer' });
    } catch (err) {
      if (isRoot) throw err;
      this.failures.note(rel, err as NodeJS.ErrnoException);
      return false;
    }
    const w: DirWatch = { rel, dev: st.dev, ino: st.ino, handle, children: new Set() };
    handle.on('change', (type, name: Buffer | string | null) =>
      this.onEvent(w, type, name === null || typeof name === 'string' ? name : nameFromBytes(name)),
    );
    handle.on('error', (err) => this.onWatchError(w, err));
    this.dirs.set(rel, w);
    if (rel) this.dirs.get(parentOf(rel))?.children.add(rel.slice(rel.lastIndexOf('/') + 1));
    return true;
  }

  private onWatchError(w: DirWatch, err: Error): void {
    log.warn(`watcher: the watch of ${w.rel || 'the source path'} failed: ${err.message}`);
    if (this.dirs.get(w.rel) === w) this.closeTree(w.rel);
    this.sink.missed(`the watch of ${w.rel || 'the source path'} failed`);
    if (w.rel) this.scheduleReconcile(w.rel);
  }

  private closeTree(rel: string): void {
    const w = this.dirs.get(rel);
    if (!w) return;
    for (const c of w.children) this.closeTree(rel ? `${rel}/${c}` : c);
    w.handle.close();
    this.dirs.delete(rel);
    this.pass.note(); // its IN_IGNORED is queued, and dropped by libuv without a callback
    if (rel) this.dirs.get(parentOf(rel))?.children.delete(rel.slice(rel.lastIndexOf('/') + 1));
  }

  /** Queues `rel` (already watched) to be listed: its subdirectories are watched in turn. */
  private list(rel: string, announce: boolean): void {
    this.toList.push({ rel, announce });
    if (this.walkRunning) return; // the running walk takes it (also when listOne called us)
    this.walkRunning = true;
    this.walking = this.walk();
  }

  private async walk(): Promise<void> {
    let n = 0;
    try {
      while (!this.closed) {
        const next = this.toList.pop();
        if (!next) return;
        this.listOne(next.rel, next.announce);
        if (++n % DIRS_PER_TURN === 0) await nextTurn();
      }
    } finally {
      this.walkRunning = false;
    }
  }

  /** Lists one watched directory: hints its entries when it is new, watches its subdirectories. */
  private listOne(rel: string, announce: boolean): void {
    if (!this.dirs.has(rel)) return; // closed meanwhile
    let entries;
    try {
      entries = readdirSync(fsPath(this.abs(rel)), { withFileTypes: true, encoding: 'buffer' });
    } catch {
      return; // gone or replaced meanwhile: the events of its parent say so
    }
    for (const e of entries) {
      // At start (nothing announced) only directories matter: a file's name is not even decoded.
      if (!announce && !e.isDirectory()) continue;
      const name = nameFromBytes(e.name);
      const child = rel ? `${rel}/${name}` : name;
      if (announce) this.sink.hint(child);
      if (!e.isDirectory() || !this.filter.dir(child)) continue;
      const st = lstatOrNull(this.abs(child));
      if (st?.isDirectory() && this.addWatch(child, st, false)) this.list(child, announce);
    }
  }
}

// A connection's path may be a symlink to its directory (/srv/data -> /mnt/disk1/data), as the
// mirror and capture follow it: the tree is watched where it is. (The root was lstat'ed, so such a
// path fell back to chokidar, a watch per file: 1 GiB and every inotify watch at 1M files.)
function rootDir(base: string): string {
  try {
    return nameFromBytes(realpathSync(fsPath(base), { encoding: 'buffer' }));
  } catch {
    return base; // gone or unreadable: start() says so
  }
}

/** Starts a native watcher on `base` (throws when the root itself cannot be watched); see start. */
export async function startNativeWatcher(
  base: string,
  filter: PathFilter,
  sink: WatchSink,
  pass?: EventPass,
  deferred = false,
): Promise<NativeWatcher> {
  const w = new NativeWatcher(rootDir(base), filter, sink, pass ?? sharedEventPass());
  try {
    await w.start(deferred);
  } catch (err) {
    await w.close();
    throw err;
  }
  return w;
}
