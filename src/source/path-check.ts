// Checking one path: the disk (lstat) against the known state, and the operations that bring the
// target in line — mkdir, put/write, symlink, attr, rename (a known inode at a new name), and,
// once a disappearance's rename window passed, delete. docs/ARCHITECTURE.md, "Capture".
import type { Stats } from 'node:fs';
import { log } from '../shared/log.js';
import { joinRel, lstatOrNull, readdirNames, readlinkName } from '../shared/fsutil.js';
import { captureFile } from './file-capture.js';
import { entryType, isNodeKind, specialType, type EntryType } from './entry-type.js';
import { checkSpecial } from './special.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { within } from './index-path.js';
import { linkToPartner } from './hard-link.js';
import { mtimeNsOf, sameContentStamp, sameFile, sameInode, type Known } from './known.js';
import type { Ledger } from './ledger.js';
import type { Skipped } from './skipped.js';
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
  /** An ancestor of a path being checked: needed on the target, whatever the baseline says. */
  ancestor?: boolean;
  /** A forced check may link to a partner sent after this seq (hard-link.ts); unset: never. */
  linkAfter?: number;
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
  /** What is not replicated (a type smr does not send, a file it cannot read): counted, logged. */
  skipped: Skipped;
  /** Hard links kept as links (not `connect --no-hard-links`). */
  hardLinks: boolean;
}

/** Directories changed this close before the watch began count as new (clocks, ctime granularity). */
const CTIME_SLACK_MS = 1000;

/** The path checks of one connection's capture. */
export class PathCheck {
  constructor(private readonly c: CheckContext) {}

  /** Absolute path of `rel`. */
  abs(rel: string): string {
    return joinRel(this.c.base, rel);
  }

  /** Compares one path on disk with the known state and queues what differs. */
  async check(rel: string, o: CheckOptions = {}): Promise<void> {
    const { ledger, gone } = this.c;
    // Synchronous: an lstat takes microseconds, its thread-pool round trip far longer under load.
    const st = lstatOrNull(this.abs(rel));
    const k = ledger.get(rel);
    if (!st) {
      if (k) gone.open(rel);
      // An op queued for it that the index never recorded (a batch cut short by a kill) may have
      // put something there on the target: deleting what is not there does nothing.
      else if (ledger.unsureAt(rel)) await ledger.emit({ kind: 'delete', meta: { p: rel } });
      else ledger.checked(rel);
      if (log.debugOn)
        log.debug(`check ${rel}: not on disk, ${k ? 'known: delete pending' : 'not known'}`);
      return;
    }
    gone.close(rel);
    ledger.checked(rel);
    const type = entryType(st) ?? specialType(st);
    if (!type) return this.c.skipped.unsupported(rel, st);
    const f = this.c.filter;
    if (type === 'dir' ? !f.dir(rel) : !f.file(rel) || underExcludedDir(f, rel)) return;
    if (!k && !o.force && !o.ancestor && !ledger.baseline && !ledger.unsureAt(rel)) {
      if (this.unchangedSinceWatch(rel, st)) return;
    }
    await this.parentsFirst(rel);
    const force = o.force === true || k?.unsure === true;
    if (isNodeKind(type)) return checkSpecial(ledger, rel, st, type, force ? undefined : k);
    if (!force && !(k && sameInode(k, st) && k.type === type)) {
      if (await this.tryRename(rel, st, type)) return this.check(rel, { gate: o.gate });
    }
    const cur = ledger.get(rel);
    const linking = { enabled: this.c.hardLinks, after: force ? o.linkAfter : -1, force };
    if (type === 'file' && (await linkToPartner(ledger, rel, st, cur, linking))) return;
    const same = cur && sameInode(cur, st) && cur.type === type ? cur : undefined;
    if (type === 'dir') return this.checkDir(rel, st, same, o.scanned === true, force);
    if (type === 'symlink') return this.checkSymlink(rel, st, force ? undefined : same);
    return this.checkFile(rel, st, force ? undefined : same, o.gate);
  }

  /**
   * Never compared with the target (no baseline: `--mirror none`, or the first mirror not done
   * yet), a path the index lacks is sent only if it is a change: it, or the directory holding it
   * (an entry added, a directory moved in), changed since the watch began, or its inode is one the
   * index holds elsewhere (a rename). Anything else was there all along, and sending it would be
   * a mirror nobody asked for. Mirror steps and resends force.
   */
  private unchangedSinceWatch(rel: string, st: Stats): boolean {
    const since = this.c.watchingSince() - CTIME_SLACK_MS;
    if (st.ctimeMs >= since) return false;
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? null : lstatOrNull(this.abs(rel.slice(0, slash)));
    if (parent && parent.ctimeMs >= since) return false;
    return this.c.ledger.pathsOfInode(st.dev, st.ino).length === 0;
  }

  /**
   * A disappearance whose rename window passed: its delete (rmdir) is queued, unless it came back
   * or a vanished ancestor's own delete covers it.
   */
  async settle(rel: string): Promise<void> {
    const { ledger, gone, queue } = this.c;
    gone.close(rel);
    const k = ledger.get(rel);
    if (!k) return ledger.checked(rel); // renamed away, or covered by an ancestor's delete
    // A vanished ancestor's own delete covers this path; let that one go first.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const anc = parts.slice(0, i).join('/');
      if (ledger.get(anc) && !lstatOrNull(this.abs(anc))) {
        // The ancestor gets its own rename window (its event may not have come in yet: a moved
        // directory's children can be reported gone first). Should it come back as it was (moved
        // away and back), nothing would look at this path again: look once more after it settled.
        gone.open(anc);
        queue.later(3 * RENAME_WINDOW_MS, () => queue.hint(rel));
        return;
      }
    }
    if (lstatOrNull(this.abs(rel))) return queue.hint(rel);
    await ledger.emit({ kind: k.type === 'dir' ? 'rmdir' : 'delete', meta: { p: rel } });
    gone.closeBelow(rel);
  }

  /** Hints every entry of a new directory again (see checkDir); unchanged ones cost an lstat. */
  relist(rel: string): void {
    if (!this.c.enabled() || this.c.ledger.get(rel)?.type !== 'dir') return;
    readdirNames(this.abs(rel))
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
    const { ledger } = this.c;
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) {
      const anc = rel.slice(0, i);
      if (ledger.get(anc)?.type === 'dir') continue;
      await this.check(anc, { ancestor: true });
      if (ledger.get(anc)?.type !== 'dir') return; // vanished or excluded: `rel` decides alone
    }
  }

  /** A new inode at `rel` that the known state holds elsewhere, now vanished there: a rename. */
  private async tryRename(rel: string, st: Stats, type: EntryType): Promise<boolean> {
    const { ledger, gone, queue } = this.c;
    for (const from of ledger.pathsOfInode(st.dev, st.ino)) {
      if (from === rel || within(rel, from) || within(from, rel)) continue;
      const k = ledger.get(from) as Known;
      if (k.type !== type || (type === 'file' && !sameContentStamp(k, st))) continue;
      const there = lstatOrNull(this.abs(from));
      if (there && sameInode(k, there)) continue; // a hard link, not a rename
      await ledger.emit({ kind: 'rename', meta: { from, to: rel } });
      gone.close(from);
      // The old name may have been reused at once (`mv a b; echo > a`): look at it again.
      if (there) queue.hint(from);
      if (type === 'dir') {
        for (const c of ledger.below(rel)) queue.hint(c);
        // Entries not known yet (a mirror still on its way through the tree, or just created)
        // moved too: their target copies, if any, now sit under the new name and are not what the
        // known state says. A scan that already passed this directory will not come back for them.
        for await (const e of scanTree(this.c.base, this.c.filter, rel)) queue.hint(e.rel);
      }
      return true;
    }
    return false;
  }

  private async checkDir(
    rel: string,
    st: Stats,
    k: Known | undefined,
    scanned: boolean,
    force: boolean,
  ): Promise<void> {
    const { ledger, queue } = this.c;
    const mode = st.mode & 0o7777;
    if (k && !force) {
      if (k.mode !== mode || this.attrsChanged(rel, k))
        await ledger.emit({ kind: 'attr', meta: { p: rel, mode } });
      return ledger.record(rel, st, 'dir', { blocks: null });
    }
    const old = ledger.get(rel);
    // Replaced (`rm -rf d; mkdir d`, or another directory renamed over it): the old tree goes on
    // the target too, or its entries would stay there under the new directory.
    const fresh = !old || !(old.type === 'dir' && sameInode(old, st));
    if (old?.type === 'dir' && fresh) await ledger.emit({ kind: 'rmdir', meta: { p: rel } });
    await ledger.emit({ kind: 'mkdir', meta: { p: rel, mode } });
    ledger.record(rel, st, 'dir', { blocks: null });
    this.c.watchDir(rel);
    if (!fresh) return; // forced: the target has this directory's entries, as the index says
    // Entries created before the watcher saw the directory are found by listing it, now and
    // again shortly: chokidar lists a new directory before its fs.watch is in place, so a file
    // created in between has no event at all (one of 1,000 files in a burst was lost that way).
    // A directory unchanged since before the watcher started was watched from the start (a
    // mirror of a big existing tree would otherwise list every directory four more times).
    if (st.ctimeMs < this.c.watchingSince() - CTIME_SLACK_MS) return;
    if (!scanned) {
      const names = await readdirNames(this.abs(rel)).catch(() => [] as string[]);
      for (const n of names) queue.hint(`${rel}/${n}`);
    }
    for (const ms of RELIST_AFTER_MS) queue.later(ms, () => this.relist(rel));
  }

  private async checkSymlink(rel: string, st: Stats, k: Known | undefined): Promise<void> {
    const { ledger } = this.c;
    const target = await readlinkName(this.abs(rel)).catch(() => null);
    if (target === null) return this.c.queue.hint(rel);
    if (!k || k.link !== target)
      await ledger.emit({ kind: 'symlink', meta: { p: rel, target, mtime: st.mtimeMs } });
    else if (this.attrsChanged(rel, k)) await ledger.emit({ kind: 'attr', meta: { p: rel } });
    ledger.record(rel, st, 'symlink', { link: target, blocks: null });
  }

  /** Whether owner, ns mtime, xattrs or ACLs of `rel` differ from what was last sent. */
  private attrsChanged(rel: string, k: Known): boolean {
    const now = this.c.ledger.attrs.stamp(rel);
    return now !== null && k.stamp !== undefined && now !== k.stamp;
  }

  private async checkFile(rel: string, st: Stats, k: Known | undefined, gate?: SendGate) {
    const { ledger } = this.c;
    const mode = st.mode & 0o7777;
    if (k && k.size === st.size && k.mtimeNs === mtimeNsOf(st)) {
      // chown, setfattr, setfacl, a touch within the same µs: attributes only, no data.
      if (k.mode !== mode || this.attrsChanged(rel, k))
        await ledger.emit({ kind: 'attr', meta: { p: rel, mode } });
      return ledger.record(rel, st, 'file', { blocks: 'keep' });
    }
    const prev = k ? ledger.blocks(rel) : undefined;
    const emit = (e: Parameters<Ledger['emit']>[0]) => ledger.emit(e);
    let res;
    try {
      res = await captureFile(this.abs(rel), rel, prev, emit, false, st.size, {
        beforePart: gate && (() => gate.beforePart()),
        stamp: st,
      });
    } catch (err) {
      if (this.c.skipped.unreadable(rel, err)) return;
      throw err;
    }
    if (!res) return this.c.queue.hint(rel); // vanished or changed type while opening: look again
    if (res.partial) {
      // A whole-file send stopped: the target keeps the parts in a temp file, and at `rel` still
      // whatever it held before (the index says what, if it knows).
      return gate?.stopped({
        rel,
        at: res.partial,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        seq: ledger.lastSeq(rel),
      });
    }
    // The stat from before the read: if the file changed while it was read, the next check sees
    // a difference and captures again (the block hashes are those of what was sent).
    ledger.record(rel, st, 'file', { blocks: res.hashes });
    if (!sameFile(res.stat, st)) this.c.queue.hint(rel);
  }
}
