// The one watcher module capture talks to. A watcher only says which paths may have changed
// ("hints"); capture compares each with the known state, so a coalesced, throttled or duplicated
// event costs nothing but a check. Two backends: `native` (one kernel watch per directory, through
// Node's own fs.watch: watch-native.ts) and `chokidar` (the portable fallback, a watch per file
// and per directory: watch-chokidar.ts). bench/RESULTS.md ("Scale", "Watchers alone") has the
// measurements that picked `native`.
import type { Stats } from 'node:fs';

/** What identifies a directory watched: its device and inode. */
export type DirId = Pick<Stats, 'dev' | 'ino'>;
import { log } from '../shared/log.js';
import type { PathFilter } from './filter.js';
import { nativeUnavailable, startNativeWatcher } from './watch-native.js';

/** The watcher backends `connect --watcher` accepts. */
export const WATCHER_BACKENDS = ['native', 'chokidar'] as const;
/** One of WATCHER_BACKENDS. */
export type WatcherBackend = (typeof WATCHER_BACKENDS)[number];

/** Where a watcher reports: capture's hints, and the connection's rescan for what it cannot see. */
export interface WatchSink {
  /** `rel` may have changed (a file, a directory, or a name that is gone now). */
  hint(rel: string): void;
  /** Changes may have been lost (the kernel's event queue overflowed): rescan the tree. */
  missed(why: string): void;
}

/** What a watcher can say about itself (for `status`). */
export interface WatcherStats {
  backend: WatcherBackend;
  /** Directories with a watch of their own (native); null where the backend does not say. */
  watchedDirs: number | null;
  /** Directories that could not be watched (watch limit, permissions): logged as they happen. */
  unwatched: number;
}

/** A running watcher; `close` stops it. */
export interface Watcher {
  readonly backend: WatcherBackend;
  close(): Promise<void>;
  /** Makes sure a directory capture learned of is watched (a no-op when it already is). */
  watchDir(rel: string): void;
  stats(): WatcherStats;
  /** After a deferred start: the walk is about to list `rel` (lstat'ed as `st`); watch it first. */
  place?(rel: string, st: DirId): void;
  /** After a deferred start whose walk did not finish: watch every directory not yet watched. */
  placeRest?(): void;
}

/** What startWatcher needs. */
export interface WatcherOptions {
  base: string;
  filter: PathFilter;
  /** The backend asked for; `native` falls back to chokidar (logged) where it cannot run. */
  backend: WatcherBackend;
  sink: WatchSink;
  /**
   * Native only: watch the root alone and resolve; the caller's walk then calls place for each
   * directory before listing it (a restart's reconciliation), or placeRest when it fails.
   */
  deferred?: boolean;
}

/** Watches `base` recursively; resolves once every directory below it is watched. */
export async function startWatcher(o: WatcherOptions): Promise<Watcher> {
  if (o.backend === 'native') {
    let why = nativeUnavailable();
    if (!why) {
      try {
        return await startNativeWatcher(o.base, o.filter, o.sink, undefined, o.deferred);
      } catch (err) {
        why = (err as Error).message;
      }
    }
    log.warn(`watcher: the native backend cannot watch ${o.base} (${why}); using chokidar`);
  }
  // Loaded only when used: chokidar and its dependencies cost memory a native watcher never needs.
  const { startChokidarWatcher } = await import('./watch-chokidar.js');
  return startChokidarWatcher(o.base, o.filter, o.sink);
}
