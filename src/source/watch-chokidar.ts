// The chokidar backend, the portable fallback (`connect --watcher chokidar`, and `native` where it
// cannot run). chokidar watches every file as well as every directory, so it costs ~10 KiB and an
// inotify watch per file (bench/RESULTS.md, "Scale", "Watchers alone"). Every event, including
// chokidar's raw fs.watch notifications, becomes a hint: chokidar throttles `change` to one per
// 50 ms per path and hides mode-only changes, so its semantic events alone would lose changes.
// Its raw events also feed the overflow count (watch-overflow.ts).
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { lstatOrNull } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import type { PathFilter } from './filter.js';
import type { WatchSink, Watcher } from './watcher.js';
import { sharedEventPass } from './watch-overflow.js';

function toRel(base: string, abs: string): string | null {
  const rel = path.relative(base, abs);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

/**
 * chokidar never emits 'ready' when the listing of one directory fails midway: a symlink whose
 * target passes through a regular file makes readdirp's realpath fail with ENOTDIR, which destroys
 * the listing stream, and chokidar waits for its end for ever (chokidar#1476; a directory replaced
 * by a file while it is listed does the same). Waiting for 'ready' alone hung the source daemon at
 * start, and `connect`, for good. So the initial setup also counts as done once it stopped making
 * progress: no entry added to the watch for this long.
 */
export const READY_STALL_MS = 5000;

/** Resolves on chokidar's 'ready', or once its initial scan has stalled (see READY_STALL_MS). */
function initialScan(w: FSWatcher, base: string): Promise<void> {
  // Entries chokidar tracks, summed over its watched directories (its own bookkeeping; it grows
  // while the scan goes on, also inside one huge directory).
  const tracked = (): number => {
    let n = 0;
    for (const d of w._watched.values()) n += d.items.size;
    return n;
  };
  return new Promise((resolve) => {
    let seen = -1;
    const timer = setInterval(() => {
      const now = tracked();
      if (now !== seen) {
        seen = now;
        return;
      }
      log.warn(
        `watcher: chokidar's initial scan of ${base} stalled without finishing (a directory it could not list, like one holding a symlink whose target passes through a file); going on: changes in that directory are found by rescans`,
      );
      done();
    }, READY_STALL_MS);
    const done = (): void => {
      clearInterval(timer);
      resolve();
    };
    w.once('ready', done);
  });
}

/** Watches `base` recursively with chokidar; resolves once its initial scan is done (or stalled). */
export async function startChokidarWatcher(
  base: string,
  filter: PathFilter,
  sink: WatchSink,
): Promise<Watcher> {
  const pass = sharedEventPass();
  let unwatched = 0;
  const w: FSWatcher = watch(base, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false, // we want raw unlink/add pairs: rename detection is ours
    alwaysStat: false,
    persistent: true,
    ignored: (p: string, stats?: { isDirectory(): boolean }) => {
      const rel = toRel(base, p);
      if (rel === null) return false;
      return stats?.isDirectory() ? !filter.dir(rel) : false;
    },
  });
  // chokidar reports names as text, a byte that is not UTF-8 as U+FFFD: such a name cannot be
  // looked at under what it reports. A rescan lists names as bytes and finds it (loudly).
  const hint = (rel: string): void => {
    if (rel.includes('\uFFFD') && !lstatOrNull(path.join(base, ...rel.split('/'))))
      sink.missed(
        `chokidar reported ${rel}, a name that is not valid UTF-8 and that it cannot carry`,
      );
    else sink.hint(rel);
  };
  w.on('all', (_event: string, p: string) => {
    const rel = toRel(base, p);
    if (rel !== null) hint(rel);
  });
  w.on('raw', (_event: string, evPath: string | null, details: unknown) => {
    pass.note();
    const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (!watched) return;
    // A directory watch names an entry; a file watch names the file itself (its own basename).
    // (A file D/D inside a directory D is also covered by its own file watch.)
    const fileWatch = evPath === path.basename(watched);
    const candidates = !evPath || fileWatch ? [watched] : [path.join(watched, evPath)];
    for (const c of candidates) {
      const rel = toRel(base, c);
      if (rel !== null) hint(rel);
    }
  });
  w.on('error', (err: unknown) => {
    unwatched++;
    log.warn(`watcher: ${(err as Error).message ?? String(err)}`);
  });
  const stopListening = pass.listen((n) =>
    sink.missed(
      `${n} file system events in one read: the kernel's event queue may have overflowed`,
    ),
  );
  await initialScan(w, base);
  return {
    backend: 'chokidar',
    close: async () => {
      stopListening();
      await w.close();
    },
    // A directory created while chokidar was doing its initial scan may never get a watch; capture
    // calls this for every directory it learns of, so changes inside it are seen.
    watchDir: (rel) => {
      w.add(path.join(base, ...rel.split('/')));
    },
    stats: () => ({ backend: 'chokidar', watchedDirs: null, unwatched }),
  };
}
