// Makes the paths a checkpoint touched durable: an fsync each, 16 at a time, or, when a
// checkpoint touched many paths, one syncfs(2) of the replica's file system (fsyncs if that fails).
//
// Measured (2026-11-22, 10,000 new 8 KiB files): fsyncing each took ~1.4 s, one syncfs ~0.13 s.
// The fsyncs also stalled the applier's own file creations (each fsync forces a journal commit
// that new creates wait behind: `open` was a third of the target's time in a full mirror). Node
// has no syncfs, so it is coreutils' `sync --file-system`, run by a long-lived `sh` helper that
// reads one path per line: a spawn from the daemon cost ~4.6 ms of its main thread each (fork of
// a 120 MiB process), 0.46 s in a 10,000-file mirror; the small shell forks `sync` off that
// thread. Still worth it only for a checkpoint with many paths, so a trickle of live changes
// keeps its per-file fsyncs.
// A syncfs also flushes what other programs wrote to that file system; a bulk checkpoint (a
// mirror) is where that is an acceptable price.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, constants as C } from 'node:fs';
import { log } from '../shared/log.js';
import { fsPath } from '../fsmeta/index.js';

const SYNC_PARALLEL = 16;
/** A checkpoint touching at least this many paths syncs the whole file system instead. */
export const SYNCFS_MIN_PATHS = 64;

// null: not tried yet; false: not available here (not Linux, no coreutils sync, too old).
let syncfsWorks: boolean | null = process.platform === 'linux' ? null : false;

/** Makes every path in `paths` (files and directories) durable; `root` is the replica's root. */
export async function syncPaths(paths: string[], root: string): Promise<void> {
  if (paths.length >= SYNCFS_MIN_PATHS && syncfsWorks !== false) {
    if (await syncFileSystem(root)) return;
  }
  for (let i = 0; i < paths.length; i += SYNC_PARALLEL)
    await Promise.all(paths.slice(i, i + SYNC_PARALLEL).map(fsyncPath));
}

/** syncfs(2) on the file system holding `root`; false if this machine cannot do it. */
async function syncFileSystem(root: string): Promise<boolean> {
  const ok = root.includes('\n') ? await syncOnce(root) : await helper.sync(root);
  if (ok) syncfsWorks = true;
  // The first try failed (no `sync`, or one without --file-system): fsyncs from now on. A later
  // failure (the helper died, or a write error): fsyncs for this checkpoint. Either way the
  // fsyncs that follow report a write error for their files (each opens a fresh descriptor,
  // which sees an error no fsync of that file has reported yet).
  else if (syncfsWorks === null) syncfsWorks = false;
  if (!ok) log.debug(`syncfs of ${root} failed: an fsync per path`);
  return ok;
}

/** One `sync --file-system` spawned from here (a root whose name the helper cannot read). */
function syncOnce(root: string): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('sync', ['--file-system', root], (err) => resolve(!err)),
  );
}

/**
 * The `sh` helper: one path per line in, `ok` or `fail` per line out, in order. Started at the
 * first bulk checkpoint; a helper that dies fails its pending requests and is started again by
 * the next one. The daemon stops it; killed, the daemon leaves it to end by itself (stdin closes).
 */
class SyncfsHelper {
  private child: ChildProcess | null = null;
  private pending: Array<(ok: boolean) => void> = [];
  private out = '';

  sync(root: string): Promise<boolean> {
    const child = this.child ?? this.start();
    if (!child?.stdin?.writable) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending.push(resolve);
      child.stdin?.write(`${root}\n`);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  stop(): void {
    const child = this.child;
    this.child = null; // what it still says or does is ignored from here on
    child?.kill();
    this.fail();
  }

  private start(): ChildProcess | null {
    const script =
      'while IFS= read -r p; do if sync --file-system -- "$p" 2>/dev/null; then echo ok; else echo fail; fi; done';
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    this.child = child;
    this.out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (this.child !== child) return;
      this.out += d;
      for (let nl = this.out.indexOf('\n'); nl >= 0; nl = this.out.indexOf('\n')) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.pending.shift()?.(line === 'ok');
      }
    });
    // `error` and `exit` may both come, the second after a new helper took requests: only the
    // current helper's end fails what is pending (answers must stay paired with their requests).
    const gone = (): void => {
      if (this.child !== child) return;
      this.child = null;
      this.fail();
    };
    child.on('error', gone);
    child.on('exit', gone);
    child.stdin?.on('error', () => undefined); // EPIPE after the helper died: `exit` reports it
    child.unref(); // its pipes still hold the event loop: the daemon stops it (stopSyncfsHelper)
    return child;
  }

  private fail(): void {
    for (const r of this.pending.splice(0)) r(false);
  }
}

const helper = new SyncfsHelper();

/** The running helper's pid, if one runs (tests). */
export function syncfsHelperPid(): number | undefined {
  return helper.pid;
}

/** Ends the syncfs helper (the target daemon at stop, tests). */
export function stopSyncfsHelper(): void {
  helper.stop();
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
