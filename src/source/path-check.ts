// Checking one path: the disk (lstat) against the known state, and the operations that bring the
// target in line — mkdir, put/write, symlink, attr, rename (a known inode at a new name), and,
// once a disappearance's rename window passed, delete. docs/ARCHITECTURE.md, "Capture".
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { log } from '../shared/log.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { captureFile } from './file-capture.js';
import { entryType, type EntryType } from './entry-type.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import type { Known } from './known-state.js';
import type { Ledger } from './ledger.js';
import { RENAME_WINDOW_MS, type RenameWindow } from './rename-window.js';
import { scanTree } from './scan.js';
import type { SendGate } from './send-gate.js';
import type { WorkQueue } from './work-queue.js';

/** A new directory is listed again this long after capture found it (see checkDir). */
export const RELIST_AFTER_MS = [50, 250, 1000, 5000];

/** How one check runs. */
export interface CheckOptions {
  /** Send it whole, whatever the known state says. */
  force?: boolean;
  /** A mirror's scan lists this path's entries itself (a new directory's are not listed here). */
  scanned?: boolean;
  /** A mirror step's pacing of a whole file it sends. */
  gate?: SendGate;
}

/** What a path check works with. */
export interface CheckContext {
  base: string;
  filter: PathFilter;
  ledger: Ledger;
  gone: RenameWindow;
  queue: Pick<WorkQueue, 'hint' | 'later'>;
  /** Makes sure the watcher watches a directory capture learned of. */
  watchDir(rel: string): void;
  /** When the watcher started watching (0: treat every directory as new). */
  watchingSince(): number;
  /** Whether live changes are captured at all. */
  enabled(): boolean;
}

type FileStamp = Pick<Stats, 'ino' | 'size' | 'mtimeMs'>;

/** Same inode, size and mtime: as far as stat can tell, nothing was written between the two. */
export function sameFile(a: FileStamp | null, b: FileStamp): boolean {
  return a !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The path checks of one connection's capture. */
export class PathCheck {
  constructor(private readonly c: CheckContext) {}

  /** Absolute path of `rel`. */
  abs(rel: string): string {
    return path.join(this.c.base, ...rel.split('/'));
  }

  /** Compares one path on disk with the known state and queues what differs. */
  async check(rel: string, o: CheckOptions = {}): Promise<void> {
    const { ledger, gone } = this.c;
    // Synchronous: an lstat takes microseconds, its thread-pool round trip far longer under load.
    const st = lstatOrNull(this.abs(rel));
    const k = ledger.known.get(rel);
    if (!st) {
      if (k) gone.open(rel);
      if (log.debugOn)
        log.debug(`check ${rel}: not on disk, ${k ? 'known: delete pending' : 'not known'}`);
      return;
    }
    gone.close(rel);
    const type = entryType(st);
    if (!type) return; // sockets, fifos, devices are not replicated
    const f = this.c.filter;
    if (type === 'dir' ? !f.dir(rel) : !f.file(rel) || underExcludedDir(f, rel)) return;
    await this.parentsFirst(rel);
    if (o.force) {
      ledger.blocks.delete(rel);
    } else if (!(k && k.dev === st.dev && k.ino === st.ino && k.type === type)) {
      if (await this.tryRename(rel, st, type)) return this.check(rel, { gate: o.gate });
    }
    const cur = ledger.known.get(rel);
    const same =
      cur && cur.dev === st.dev && cur.ino === st.ino && cur.type === type ? cur : undefined;
    if (type === 'dir') return this.checkDir(rel, st, same, o.scanned === true);
    if (type === 'symlink') return this.checkSymlink(rel, st, same);
    return this.checkFile(rel, st, o.force ? undefined : same, o.gate);
  }

  /**
   * A disappearance whose rename window passed: its delete (rmdir) is queued, unless it came back
   * or a vanished ancestor's own delete covers it.
   */
  async settle(rel: string): Promise<void> {
    const { ledger, gone, queue } = this.c;
    gone.close(rel);
    if (!ledger.known.get(rel)) return; // renamed away, or covered by an ancestor's delete
    // A vanished ancestor's own delete covers this path; let that one go first.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const anc = parts.slice(0, i).join('/');
      if (ledger.known.get(anc) && !(await fsp.lstat(this.abs(anc)).catch(() => null))) {
        // The ancestor gets its own rename window (its event may not have come in yet: a moved
        // directory's children can be reported gone first). Should it come back as it was (moved
        // away and back), nothing would look at this path again: look once more after it settled.
        gone.open(anc);
        queue.later(3 * RENAME_WINDOW_MS, () => queue.hint(rel));
        return;
      }
    }
    if (await fsp.lstat(this.abs(rel)).catch(() => null)) return queue.hint(rel);
    const k = ledger.known.get(rel) as Known;
    await ledger.emit({ kind: k.type === 'dir' ? 'rmdir' : 'delete', meta: { p: rel } });
    ledger.forgetTree(rel);
    gone.closeBelow(rel);
  }

  /** Hints every entry of a new directory again (see checkDir); unchanged ones cost an lstat. */
  relist(rel: string): void {
    if (!this.c.enabled() || this.c.ledger.known.get(rel)?.type !== 'dir') return;
    fsp
      .readdir(this.abs(rel))
      .then((names) => {
        for (const n of names) this.c.queue.hint(`${rel}/${n}`); // known ones too: written on unseen
      })
      .catch(() => undefined); // gone or replaced meanwhile: its own hints cover that
  }

  /**
   * Checks the ancestors of `rel` the known state lacks, top down, before `rel` itself. Otherwise
   * an op under an unknown directory (a watcher event for a file before one for its directory, as
   * after a restart) had the target create that directory implicitly, and a later rename or delete
   * of it never reached the target: the source did not know it (a stale directory left behind in
   * the kill -9 tests). A mkdir for a directory the target already has only sets its mode.
   */
  private async parentsFirst(rel: string): Promise<void> {
    const known = this.c.ledger.known;
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) {
      const anc = rel.slice(0, i);
      if (known.get(anc)?.type === 'dir') continue;
      await this.check(anc);
      if (known.get(anc)?.type !== 'dir') return; // vanished or excluded: `rel` decides alone
    }
  }

  /** A new inode at `rel` that the known state holds elsewhere, now vanished there: a rename. */
  private async tryRename(rel: string, st: Stats, type: EntryType): Promise<boolean> {
    const { ledger, gone, queue } = this.c;
    const from = ledger.known.pathOfInode(st.dev, st.ino);
    if (from === undefined || from === rel) return false;
    const k = ledger.known.get(from) as Known;
    if (k.type !== type) return false;
    if (type === 'file' && (k.size !== st.size || k.mtimeMs !== st.mtimeMs)) return false;
    const there = await fsp.lstat(this.abs(from)).catch(() => null);
    if (there && there.ino === st.ino && there.dev === st.dev) return false; // a hard link, not a rename
    await ledger.emit({ kind: 'rename', meta: { from, to: rel } });
    ledger.known.moveTree(from, rel);
    ledger.blocks.move(from, rel);
    gone.close(from);
    // The old name may have been reused at once (`mv a b; echo > a`): look at it again.
    if (there) queue.hint(from);
    if (type === 'dir') {
      for (const c of ledger.known.childrenOf(rel)) queue.hint(c);
      // Entries not known yet (a mirror still on its way through the tree, or just created)
      // moved too: their target copies, if any, now sit under the new name and are not what the
      // known state says. A scan that already passed this directory will not come back for them.
      for await (const e of scanTree(this.c.base, this.c.filter, rel)) queue.hint(e.rel);
    }
    return true;
  }

  private async checkDir(rel: string, st: Stats, k: Known | undefined, scanned: boolean) {
    const { ledger, queue } = this.c;
    const mode = st.mode & 0o7777;
    if (k) {
      if (k.mode !== mode) await ledger.emit({ kind: 'attr', meta: { p: rel, mode } });
      return ledger.record(rel, st, 'dir');
    }
    const old = ledger.known.get(rel);
    if (old) {
      // Replaced (`rm -rf d; mkdir d`): the old tree goes on the target too. Its children are
      // forgotten here, so their own unlink hints would no longer delete anything.
      if (old.type === 'dir') await ledger.emit({ kind: 'rmdir', meta: { p: rel } });
      ledger.forgetTree(rel);
    }
    await ledger.emit({ kind: 'mkdir', meta: { p: rel, mode } });
    ledger.record(rel, st, 'dir');
    this.c.watchDir(rel);
    // Entries created before the watcher saw the directory are found by listing it, now and
    // again shortly: chokidar lists a new directory before its fs.watch is in place, so a file
    // created in between has no event at all (one of 1,000 files in a burst was lost that way).
    if (!scanned) {
      const names = await fsp.readdir(this.abs(rel)).catch(() => [] as string[]);
      for (const n of names) queue.hint(`${rel}/${n}`);
    }
    // A directory unchanged since before the watcher started was watched from the start (a
    // mirror of a big existing tree would otherwise list every directory four more times).
    if (st.ctimeMs >= this.c.watchingSince() - 1000)
      for (const ms of RELIST_AFTER_MS) queue.later(ms, () => this.relist(rel));
  }

  private async checkSymlink(rel: string, st: Stats, k: Known | undefined): Promise<void> {
    const { ledger } = this.c;
    const target = await fsp.readlink(this.abs(rel)).catch(() => null);
    if (target === null) return this.c.queue.hint(rel);
    if (!k || k.link !== target) {
      if (!k && ledger.known.get(rel)?.type === 'dir') ledger.known.deleteTree(rel);
      await ledger.emit({ kind: 'symlink', meta: { p: rel, target, mtime: st.mtimeMs } });
    }
    ledger.record(rel, st, 'symlink', target);
  }

  private async checkFile(rel: string, st: Stats, k: Known | undefined, gate?: SendGate) {
    const { ledger } = this.c;
    const mode = st.mode & 0o7777;
    if (k && k.size === st.size && k.mtimeMs === st.mtimeMs) {
      if (k.mode !== mode) await ledger.emit({ kind: 'attr', meta: { p: rel, mode } });
      return ledger.record(rel, st, 'file');
    }
    if (!k && ledger.known.get(rel)?.type === 'dir') ledger.known.deleteTree(rel);
    const prev = k ? ledger.blocks.get(rel) : undefined;
    const emit = (e: Parameters<Ledger['emit']>[0]) => ledger.emit(e);
    const res = await captureFile(this.abs(rel), rel, prev, emit, false, st.size, {
      beforePart: gate && (() => gate.beforePart()),
    });
    if (!res) return this.c.queue.hint(rel); // vanished or changed type while opening: look again
    if (res.partial) {
      // A whole-file send stopped: the target holds part of it in a temp file, nothing is known.
      ledger.forget(rel);
      return gate?.stopped({
        rel,
        at: res.partial,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
      });
    }
    ledger.blocks.set(rel, res.hashes);
    // Known state takes the stat from before the read: if the file changed while it was read, the
    // next check sees a difference and captures again (the block hashes are those of what was sent).
    ledger.record(rel, st, 'file');
    if (!sameFile(res.stat, st)) this.c.queue.hint(rel);
  }
}
