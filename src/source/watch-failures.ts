// Directories the native watcher could not watch (the watch limit, permissions): counted, and
// logged the first time for each kind and then at every power of ten, so a million failures do not
// flood the log. Changes there are found only by the periodic rescan.
import { log } from '../shared/log.js';

/** The native watcher's count of unwatched directories, by error code. */
export class WatchFailures {
  /** Directories that could not be watched so far. */
  count = 0;
  private readonly byCode = new Map<string, number>();

  /** A watch of `rel` failed with `err` (a vanished directory is not a failure: its parent says). */
  note(rel: string, err: NodeJS.ErrnoException): void {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
    this.count++;
    const code = err.code ?? 'error';
    const n = (this.byCode.get(code) ?? 0) + 1;
    this.byCode.set(code, n);
    if (Number.isInteger(Math.log10(n)))
      log.warn(
        `watcher: cannot watch ${rel} (${err.message}); ${n} director${n === 1 ? 'y' : 'ies'} ` +
          `unwatched for ${code} so far: changes there are found only by the periodic rescan` +
          (code === 'ENOSPC' ? ' (raise fs.inotify.max_user_watches)' : ''),
      );
  }
}
