// Makes the paths a checkpoint touched durable: an fsync each, 16 at a time, or, when a
// checkpoint touched many paths, one syncfs(2) of the replica's file system (fsyncs if that fails).
//
// Measured (2026-11-22, 10,000 new 8 KiB files): fsyncing each took ~1.4 s, one syncfs ~0.13 s.
// The fsyncs also stalled the applier's own file creations (each fsync forces a journal commit
// that new creates wait behind: `open` was a third of the target's time in a full mirror). Node
// has no syncfs: it is called through koffi on a thread of the pool (fsmeta's syncfsAsync), so
// the daemon's thread never waits for the disk. (It was coreutils' `sync --file-system`, forked
// by a long-lived `sh` helper per checkpoint: ~5 ms of CPU each, and a full mirror of small
// files checkpoints every 100 ms.) Still worth it only for a
// checkpoint with many paths, so a trickle of live changes keeps its per-file fsyncs.
// A syncfs also flushes what other programs wrote to that file system; a bulk checkpoint (a
// mirror) is where that is an acceptable price.
import { closeSync, openSync, promises as fsp, constants as C } from 'node:fs';
import { log } from '../shared/log.js';
import { fsPath, syncfsAsync } from '../fsmeta/index.js';

const SYNC_PARALLEL = 16;
/** A checkpoint touching at least this many paths syncs the whole file system instead. */
export const SYNCFS_MIN_PATHS = 64;

// false: syncfs is not available here (not Linux).
const syncfsWorks = process.platform === 'linux';

/** Makes every path in `paths` (files and directories) durable; `root` is the replica's root. */
export async function syncPaths(paths: string[], root: string): Promise<void> {
  if (paths.length >= SYNCFS_MIN_PATHS && syncfsWorks) {
    if (await syncFileSystem(root)) return;
  }
  for (let i = 0; i < paths.length; i += SYNC_PARALLEL)
    await Promise.all(paths.slice(i, i + SYNC_PARALLEL).map(fsyncPath));
}

/**
 * syncfs(2) on the file system holding `root`; false when it failed, and then the fsyncs that
 * follow report a write error for their files (each opens a fresh descriptor, which sees an
 * error no fsync of that file has reported yet).
 */
async function syncFileSystem(root: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(fsPath(root), C.O_RDONLY | C.O_DIRECTORY);
  } catch {
    log.debug(`cannot open ${root} for a syncfs: an fsync per path`);
    return false;
  }
  try {
    const ok = await new Promise<boolean>((resolve) => {
      try {
        syncfsAsync(fd, resolve);
      } catch {
        resolve(false); // koffi could not bind it
      }
    });
    if (!ok) log.debug(`syncfs of ${root} failed: an fsync per path`);
    return ok;
  } finally {
    closeSync(fd);
  }
}

async function fsyncPath(p: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(fsPath(p), C.O_RDONLY | C.O_NOFOLLOW);
    await fh.sync();
  } catch (err) {
    // Gone since (deleted or renamed later in the same batch): nothing left to make durable. Any
    // other failure (EIO above all) means the data may not be on disk: the checkpoint must fail,
    // and the source replays from the last durable seq. (Once a writeback failed, a retried fsync
    // may report success for data that never reached the disk, so the error is not swallowed.)
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
  } finally {
    await fh?.close();
  }
}
