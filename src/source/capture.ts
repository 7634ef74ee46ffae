// The capture pipeline of one connection: an ordered, coalescing set of "check this path" items
// and in-line steps (mirror work, task markers). Each path check compares the disk (lstat) with
// the known state and queues the operations that bring the target in line. Watcher events are only
// hints, so a dropped or throttled event cannot lose a change as long as some later hint, rescan
// or mirror names the path.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { log } from '../shared/log.js';
import type { JournalEntry, JournalRecord } from '../journal/types.js';
import type { BlocksReply } from '../protocol/requests.js';
import { entryType } from './entry-type.js';
import type { QueuedOp } from './queued-op.js';
import { BlockCache, type BlockHashes } from './block-cache.js';
import { CAPTURE_BLOCK, captureFile, type WholeCursor } from './file-capture.js';
import { StreamBlockHasher } from '../delta/index.js';
import { KnownState, type Known } from './known-state.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { scanTree } from './scan.js';
import { bytesOutOfSync } from './compare.js';
import { sendDelta, type AskTarget } from './delta-send.js';

/** Files smaller than this are compared block by block only (a delta's round trips cost more). */
const SHIFT_MIN_BYTES = 256 * 1024;
import {
  attrsDiffer,
  basisOf,
  differingRanges,
  hashForMirror,
  looksShifted,
  sameContent,
  sendRanges,
} from './mirror-file.js';
import { blocksBlockSize } from '../protocol/limits.js';
import { lstatOrNull } from '../shared/fsutil.js';
import type { AckWait } from './ack-waiter.js';

/** A new directory is listed again this long after capture found it (see checkDir). */
export const RELIST_AFTER_MS = [50, 250, 1000, 5000];
/** A path whose disappearance waits this long for its new name to show up (rename detection). */
export const RENAME_WINDOW_MS = 60;
/** A path is checked once no hint arrived for it for this long (bursts coalesce)... */
export const QUIET_MS = 2;
/** ...or once it has waited this long, however busy it is. */
export const MAX_DELAY_MS = 250;

type Step = () => Promise<void>;

/** Mode and mtime of `abs` when a delta's last part is queued. */
function attrsOf(abs: string): () => Promise<{ mode: number; mtime: number }> {
  return async () => {
    const now = await fsp.stat(abs);
    return { mode: now.mode & 0o7777, mtime: now.mtimeMs };
  };
}

/** Where a stopped whole-file mirror send got to, and the file it was reading then. */
export interface MirrorCursor {
  rel: string;
  at: WholeCursor;
  ino: number;
  size: number;
  mtimeMs: number;
}
interface Item {
  first: number;
  last: number;
  step?: Step;
  force?: boolean; // send whole, whatever the known state says
}

type FileStamp = Pick<Stats, 'ino' | 'size' | 'mtimeMs'>;

/** Same inode, size and mtime: as far as stat can tell, nothing was written between the two. */
function sameFile(a: FileStamp | null, b: FileStamp): boolean {
  return a !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The type of an entry the scan found (it yields files, directories and links only). */
function typeOf(st: Stats): Known['type'] {
  return entryType(st) ?? 'file';
}

/** The paths a queued op names. */
function pathsOf(e: QueuedOp): Record<string, string> {
  if (e.kind === 'rename') return { from: e.meta.from, to: e.meta.to };
  return e.kind === 'task' || e.kind === 'mark' ? {} : { p: e.meta.p };
}

/** One connection's capture pipeline. */
export class Capture {
  readonly known = new KnownState();
  readonly blocks = new BlockCache();
  private items = new Map<string, Item>();
  private lastSeqOf = new Map<string, number>();
  private emitted = new Set<(e: QueuedOp, seq: number) => void>();
  /** Asks the watcher to watch a directory capture learned of (set by the connection). */
  watchDir: (rel: string) => void = () => undefined;
  private gone = new Map<string, number>(); // rel -> deadline
  private stepSeq = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /**
   * Off while replication is off: watcher hints are dropped (the target is marked
   * remirror-required), but hints from mirror work and the target's resend requests still count —
   * dropping those left a mirror reporting complete with a file missing.
   */
  enabled = true;
  onError: (err: Error) => void = (err) => log.error(`capture: ${err.message}`);
  /**
   * Set by the mirror around each of its steps: asked between two parts of a whole file it sends
   * (it waits while the queue is long, and says 'stop' when the mirror pauses), so a big file
   * neither fills the journal nor runs on past a pause. A stopped send leaves a cursor.
   */
  mirrorGate: (() => Promise<'go' | 'stop'>) | null = null;
  /** When the watcher started watching (set by the connection; 0: treat every directory as new). */
  watchingSince = 0;
  private cursor: MirrorCursor | null = null;

  constructor(
    readonly base: string,
    private readonly filter: PathFilter,
    private readonly append: (e: JournalEntry) => Promise<JournalRecord>,
    private readonly acks: AckWait,
  ) {}

  /** A hint that `rel` may have changed. */
  hint(rel: string, force = false): void {
    if (this.stopped || !rel || rel.startsWith('..')) return;
    const now = Date.now();
    const it = this.items.get(rel);
    if (it) {
      it.last = now;
      it.force ||= force;
    } else this.items.set(rel, { first: now, last: now, force });
    this.kick();
  }

  /** Runs `step` in line, after every item queued before it. */
  enqueueStep(step: Step): Promise<void> {
    return new Promise((resolve, reject) => {
      const now = Date.now();
      this.items.set(`\0step:${++this.stepSeq}`, {
        first: now - MAX_DELAY_MS,
        last: now - MAX_DELAY_MS,
        step: () => step().then(resolve, (e) => (reject(e), undefined)),
      });
      this.kick();
    });
  }

  /** Runs `step` in line like enqueueStep, for callers that do not wait: a failure is logged. */
  detach(step: Step): void {
    this.enqueueStep(step).catch((err: Error) => this.onError(err));
  }

  /** Queues an operation directly, in line with the path checks already queued. */
  appendInLine(e: QueuedOp): Promise<JournalRecord> {
    return new Promise((resolve, reject) => {
      void this.enqueueStep(async () => resolve(await this.emit(e))).catch(reject);
    });
  }

  /** Resolves once nothing is queued, waiting or in progress (deletes still in their window excepted). */
  idle(): Promise<void> {
    if (!this.running && (this.items.size === 0 || this.stopped)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Turns every pending disappearance into its delete now (barriers must not leave them behind). */
  async flushGone(): Promise<void> {
    await this.enqueueStep(async () => {
      // One at a time until none is left: settling a path can add its vanished ancestor.
      for (let g = this.firstGone(); g !== undefined; g = this.firstGone())
        await this.settleGone(g);
    });
  }

  /** Items waiting in the pipeline (the mirror holds back while this is large). */
  get backlog(): number {
    return this.items.size;
  }

  /** Mirror step for one path: `send` forgets what is known so the check sends it in full;
   * otherwise the target's copy matched the scan's stat, which becomes the known state. */
  async mirrorPath(rel: string, send: boolean, st: Stats, sinceSeq = Infinity): Promise<void> {
    // Sent already during this mirror (a new directory's check queues its entries): not again.
    if (send && (this.lastSeqOf.get(rel) ?? 0) > sinceSeq && this.knownMatchesDisk(rel)) return;
    if (log.debugOn)
      log.debug(`mirror ${rel}: ${send ? 'send' : 'same'}${this.known.get(rel) ? ' (known)' : ''}`);
    // A directory's entries are the scan's own next steps: listing them here too would send them
    // as hints, outside the steps whose sizes the mirror counts against its queue bound (a full
    // mirror into an empty replica then ran twice the bound ahead and out of the hot tail).
    if (send) return this.resend(rel, true);
    if (this.known.get(rel)) return; // already handled by live replication, more recently
    // The scan's stat matched the target; if the path changed since (renamed away, replaced),
    // recording it would hide that change for good: check it like any other hint instead.
    const now = lstatOrNull(this.abs(rel));
    if (
      !now ||
      now.ino !== st.ino ||
      now.dev !== st.dev ||
      now.mtimeMs !== st.mtimeMs ||
      now.size !== st.size
    ) {
      this.known.set(rel, {
        type: typeOf(st),
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        mode: st.mode & 0o7777,
      });
      return this.hint(rel);
    }
    const type = typeOf(st);
    const link =
      type === 'symlink'
        ? ((await fsp.readlink(this.abs(rel)).catch(() => undefined)) ?? undefined)
        : undefined;
    this.record(rel, st, type, link);
    if (type === 'dir') this.watchDir(rel);
  }

  /** True when the known state of `rel` is what is on disk now (same inode, size, mtime). */
  private knownMatchesDisk(rel: string): boolean {
    const k = this.known.get(rel);
    const st = lstatOrNull(this.abs(rel));
    return Boolean(
      k &&
      st &&
      k.ino === st.ino &&
      k.size === st.size &&
      k.mtimeMs === st.mtimeMs &&
      k.type === typeOf(st),
    );
  }

  /** Step: forget what is known about `rel` and send it again in full (verify --fix, NEED). */
  async resend(rel: string, scanned = false): Promise<void> {
    this.known.delete(rel);
    this.blocks.delete(rel);
    if (lstatOrNull(this.abs(rel))) {
      await this.check(rel, false, scanned);
      // Sent, or not replicated (excluded, a fifo): either way the check decided.
      if (this.known.get(rel) || lstatOrNull(this.abs(rel))) return;
    }
    // Gone, before or while it was read: the target's copy, found different, must go too (a
    // mirror's scan, NEED). Nothing known is left to turn a later hint into this delete.
    await this.emit({ kind: 'delete', meta: { p: rel } });
    this.known.deleteTree(rel);
    this.blocks.deleteTree(rel);
  }

  /**
   * Mirror step for a file the target has: compare against the target's block hashes (fetched
   * here, after every queued op on this path was applied, so they describe the basis the writes
   * will meet), then send nothing, or only the differing blocks with a whole-file proof.
   */
  async mirrorBlocks(
    rel: string,
    listed: { mode: number; mtimeMs: number },
    remote: { blocks: (rel: string) => Promise<BlocksReply>; request: AskTarget },
  ): Promise<number> {
    if (log.debugOn)
      log.debug(`mirror ${rel}: compare blocks${this.known.get(rel) ? ' (known)' : ''}`);
    await this.acks.until(this.lastSeqOf.get(rel) ?? 0);
    try {
      return await this.compareAndSend(rel, listed, remote);
    } catch (err) {
      // The target's copy is known to differ, so the step may not end without a decision: a
      // file that vanished or changed under the comparison is looked at again from scratch (sent
      // whole, or deleted on the target if it is gone). A real fault still surfaces.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
      await this.resend(rel);
      return 0;
    }
  }

  private async compareAndSend(
    rel: string,
    listed: { mode: number; mtimeMs: number },
    remote: { blocks: (rel: string) => Promise<BlocksReply>; request: AskTarget },
  ): Promise<number> {
    const st = await fsp.lstat(this.abs(rel)).catch(() => null);
    if (!st?.isFile()) {
      await this.resend(rel);
      return 0;
    }
    const abs = this.abs(rel);
    if (await looksShifted(abs, rel, st.size, remote.request)) {
      // Straight to the delta; its chunking pass also yields the block hashes capture keeps.
      const blocks = new StreamBlockHasher(CAPTURE_BLOCK);
      const d = await sendDelta(abs, rel, remote.request, (e) => this.emit(e), attrsOf(abs), {
        blocks,
        differs: true, // the sample proved it
      });
      // (Never `unchanged`: the target was told the files differ and did not hash its copy.)
      this.record(rel, st, 'file');
      this.afterMirrorSend(rel, st, {
        blockSize: CAPTURE_BLOCK,
        size: blocks.size,
        hashes: blocks.finish(),
      });
      return d.literalBytes;
    }
    // Both sides hash at once: the target's block size is a function of the size, so the local
    // pass need not wait for the reply (it is redone only if the target's copy sizes differently).
    const guess = blocksBlockSize(st.size);
    const [theirs, first] = await Promise.all([
      remote.blocks(rel),
      hashForMirror(this.abs(rel), guess),
    ]);
    const basis = basisOf(theirs);
    if (!basis) {
      await this.resend(rel);
      return st.size;
    }
    const local =
      basis.blockSize === guess ? first : await hashForMirror(this.abs(rel), basis.blockSize);
    if (!local) return (await this.resend(rel), 0);
    if (sameContent(local, theirs)) {
      await this.recordSame(rel, st, listed, local.capture);
      return 0;
    }
    // Scattered changes go as in-place block writes; when most blocks differ at their offsets the
    // data has probably moved (bytes inserted or removed), and a content-defined delta finds it.
    const outOfSync = bytesOutOfSync(
      { size: local.size, hashes: local.atBasis },
      basis,
      basis.blockSize,
    );
    if (local.size >= SHIFT_MIN_BYTES && outOfSync > local.size / 8) {
      const d = await sendDelta(abs, rel, remote.request, (e) => this.emit(e), attrsOf(abs), {
        sha256: local.sha256, // known to differ from the target's: no second pass for it
      });
      this.record(rel, st, 'file');
      this.afterMirrorSend(rel, st, local.capture);
      return d.literalBytes;
    }
    // The differing blocks are known from the hashing pass: read and send only those.
    const ranges = differingRanges(local, basis);
    const res = await sendRanges(this.abs(rel), rel, ranges, local, (e) => this.emit(e));
    this.record(rel, st, 'file');
    this.afterMirrorSend(rel, st, local.capture);
    return res.bytes;
  }

  /**
   * After a mirror sent a file as the hashing pass saw it (with that pass's sha256 as the proof):
   * unchanged since, its hashes are the basis of later changes; changed, the target's proof fails
   * (it asks for the file whole) and the change is looked at again.
   */
  private afterMirrorSend(rel: string, hashed: Stats, hashes: BlockHashes): void {
    if (sameFile(lstatOrNull(this.abs(rel)), hashed)) {
      this.blocks.set(rel, hashes);
      return;
    }
    this.blocks.delete(rel);
    this.hint(rel);
  }

  /**
   * Mirror step for a file proven equal on the target (same sha256): nothing to send but its
   * mode/mtime if those differ; its block hashes become the basis for later changes. If the
   * file changed since it was hashed, the next check sends the change.
   */
  async recordSame(
    rel: string,
    scanned: Stats,
    listed: { mode: number; mtimeMs: number },
    hashes: BlockHashes,
  ): Promise<void> {
    const st = lstatOrNull(this.abs(rel));
    if (!st?.isFile() || !sameFile(st, scanned)) {
      // Changed or gone since it was hashed: the target's copy was the old content, so nothing
      // known may be assumed about it (a plain hint would do nothing for an unknown, vanished path).
      return this.resend(rel);
    }
    this.blocks.set(rel, hashes);
    if (attrsDiffer(st, listed))
      await this.emit({
        kind: 'attr',
        meta: { p: rel, mode: st.mode & 0o7777, mtime: st.mtimeMs },
      });
    this.record(rel, st, 'file');
  }

  /** Mirror step: deletes a target path that is not in the source set (if still absent here). */
  async deleteOrphan(rel: string): Promise<boolean> {
    if (this.known.get(rel) || lstatOrNull(this.abs(rel))) return false;
    await this.emit({ kind: 'delete', meta: { p: rel } });
    return true;
  }

  /** The cursor a stopped whole-file mirror send left, if any (the mirror takes it once). */
  takeCursor(): MirrorCursor | null {
    const c = this.cursor;
    this.cursor = null;
    return c;
  }

  /**
   * Mirror step: the rest of a whole file whose send stopped at a pause. If the file changed
   * since, it is sent again from the start (the target drops the old transfer's temp file); if a
   * live change sent it whole meanwhile, nothing is left to do.
   */
  async continueWhole(c: MirrorCursor): Promise<void> {
    if (this.known.get(c.rel)) return;
    const st = lstatOrNull(this.abs(c.rel));
    if (!st?.isFile() || !sameFile(st, c)) return this.resend(c.rel);
    const res = await captureFile(
      this.abs(c.rel),
      c.rel,
      undefined,
      (e) => this.emit(e),
      false,
      st.size,
      { from: c.at, beforePart: this.mirrorGate ?? undefined },
    );
    if (!res) return this.resend(c.rel);
    if (res.partial) return this.stoppedAt(c.rel, st, res.partial);
    // Its block hashes cover only the part sent last: none are kept, the next change goes whole.
    this.blocks.delete(c.rel);
    this.record(c.rel, st, 'file');
    if (res.stat.mtimeMs !== st.mtimeMs || res.stat.size !== st.size) this.hint(c.rel);
  }

  /** A whole-file send stopped: the target holds part of it in a temp file, nothing is known. */
  private stoppedAt(rel: string, st: Stats, at: WholeCursor): void {
    this.known.delete(rel);
    this.blocks.delete(rel);
    this.cursor = { rel, at, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  }

  /** The queue restarted (a new epoch): nothing is known to be on the target, no seq is pending. */
  forgetStream(): void {
    this.known.clear();
    this.lastSeqOf.clear();
  }

  /** Calls `fn` with every operation queued from now on; returns the unsubscribe function. */
  onEmitted(fn: (e: QueuedOp, seq: number) => void): () => void {
    this.emitted.add(fn);
    return () => this.emitted.delete(fn);
  }

  /** Compares the whole tree with the known state and hints every difference (the barrier's rescan). */
  async rescan(): Promise<void> {
    const seen = new Set<string>();
    for await (const { rel, st } of scanTree(this.base, this.filter)) {
      seen.add(rel);
      const k = this.known.get(rel);
      const type = typeOf(st);
      if (
        !k ||
        k.type !== type ||
        k.ino !== st.ino ||
        k.mode !== (st.mode & 0o7777) ||
        (type === 'file' && (k.size !== st.size || k.mtimeMs !== st.mtimeMs))
      ) {
        this.hint(rel);
      } else if (
        type === 'symlink' &&
        (await fsp.readlink(this.abs(rel)).catch(() => null)) !== k.link
      )
        this.hint(rel);
    }
    for (const rel of this.known.paths()) if (!seen.has(rel)) this.hint(rel);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wake?.();
  }

  /** Runs `fn` after `ms` unless capture stopped meanwhile. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Hints every entry of a new directory again (see checkDir); unchanged ones cost an lstat. */
  private relist(rel: string): void {
    if (!this.enabled || this.known.get(rel)?.type !== 'dir') return;
    fsp
      .readdir(this.abs(rel))
      .then((names) => {
        for (const n of names) this.hint(`${rel}/${n}`); // known ones too: written on unseen
      })
      .catch(() => undefined); // gone or replaced meanwhile: its own hints cover that
  }

  private kick(): void {
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped) {
        const now = Date.now();
        const next = this.items.size ? this.nextReady(now) : null;
        // A disappearance whose window passed settles once no check is ready to run: one of those
        // checks may be its new name (a busy pipeline holds it up longer than the window, and a
        // renamed directory sent as rmdir + every file again cost a whole resend). A path overdue
        // by MAX_DELAY_MS settles anyway, so a steady stream of changes cannot hold deletes back.
        const dueGone = this.dueGone(next && 'key' in next ? now - MAX_DELAY_MS : now);
        if (dueGone !== undefined) {
          await this.guard(() => this.settleGone(dueGone));
          continue;
        }
        if (!next) {
          if (this.gone.size === 0) break;
          await this.sleep(Math.max(1, this.earliestGone() - now));
          continue;
        }
        if ('wait' in next) {
          await this.sleep(Math.max(1, Math.min(next.wait, this.earliestGone() - now)));
          continue;
        }
        const { key, it } = next;
        this.items.delete(key);
        if (it.step) await this.guard(it.step);
        else await this.guard(() => this.check(key, it.force ?? false));
      }
    } finally {
      this.running = false;
      if (this.items.size === 0 || this.stopped) for (const w of this.idleWaiters.splice(0)) w();
      else if (!this.stopped) void this.loop();
    }
  }

  /**
   * The head item when it is ready, else how long to wait for it. Items are taken strictly in
   * order: letting ready paths overtake a waiting one was faster for bursts, but coincided with
   * stale files in the kill -9 tests and was taken back until that is understood.
   */
  private nextReady(now: number): { key: string; it: Item } | { wait: number } {
    const head = this.items.entries().next();
    if (head.done) return { wait: MAX_DELAY_MS };
    const [key, it] = head.value;
    const readyAt = Math.min(it.last + QUIET_MS, it.first + MAX_DELAY_MS);
    return readyAt <= now ? { key, it } : { wait: Math.max(1, readyAt - now) };
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
    }).finally(() => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    });
  }

  private async emit(e: QueuedOp): Promise<JournalRecord> {
    const rec = await this.append(e);
    const paths = pathsOf(e);
    if (log.debugOn) log.debug(`queued ${rec.seq} ${e.kind}`, paths);
    // Which seq last touched each path: a mirror's basis is valid once that seq is applied.
    for (const v of Object.values(paths)) this.lastSeqOf.set(v, rec.seq);
    for (const fn of this.emitted) fn(e, rec.seq);
    return rec;
  }

  private abs(rel: string): string {
    return path.join(this.base, ...rel.split('/'));
  }

  /**
   * Compares one path on disk with the known state and queues what differs. `scanned`: a mirror's
   * scan lists this path's entries itself (a new directory's are not listed here).
   */
  private async check(rel: string, force: boolean, scanned = false): Promise<void> {
    // Synchronous: an lstat takes microseconds, its thread-pool round trip far longer under load.
    const st = lstatOrNull(this.abs(rel));
    const k = this.known.get(rel);
    if (!st) {
      if (k && !this.gone.has(rel)) this.gone.set(rel, Date.now() + RENAME_WINDOW_MS);
      if (log.debugOn)
        log.debug(`check ${rel}: not on disk, ${k ? 'known: delete pending' : 'not known'}`);
      return;
    }
    this.gone.delete(rel);
    const type = st.isFile()
      ? 'file'
      : st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : null;
    if (!type) return; // sockets, fifos, devices are not replicated
    if (
      type === 'dir'
        ? !this.filter.dir(rel)
        : !this.filter.file(rel) || underExcludedDir(this.filter, rel)
    )
      return;
    await this.parentsFirst(rel);
    if (force) {
      this.blocks.delete(rel);
    } else if (!(k && k.dev === st.dev && k.ino === st.ino && k.type === type)) {
      if (await this.tryRename(rel, st, type)) return this.check(rel, false);
    }
    const cur = this.known.get(rel);
    const same = cur && cur.dev === st.dev && cur.ino === st.ino && cur.type === type;
    if (type === 'dir') return this.checkDir(rel, st, same ? cur : undefined, scanned);
    if (type === 'symlink') return this.checkSymlink(rel, st, same ? cur : undefined);
    return this.checkFile(rel, st, same && !force ? cur : undefined);
  }

  /**
   * Checks the ancestors of `rel` the known state lacks, top down, before `rel` itself. Otherwise
   * an op under an unknown directory (a watcher event for a file before one for its directory, as
   * after a restart) had the target create that directory implicitly, and a later rename or delete
   * of it never reached the target: the source did not know it (a stale directory left behind in
   * the kill -9 tests). A mkdir for a directory the target already has only sets its mode.
   */
  private async parentsFirst(rel: string): Promise<void> {
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) {
      const anc = rel.slice(0, i);
      if (this.known.get(anc)?.type === 'dir') continue;
      await this.check(anc, false);
      if (this.known.get(anc)?.type !== 'dir') return; // vanished or excluded: `rel` decides alone
    }
  }

  /** A new inode at `rel` that the known state holds elsewhere, now vanished there: a rename. */
  private async tryRename(rel: string, st: Stats, type: Known['type']): Promise<boolean> {
    const from = this.known.pathOfInode(st.dev, st.ino);
    if (from === undefined || from === rel) return false;
    const k = this.known.get(from) as Known;
    if (k.type !== type) return false;
    if (type === 'file' && (k.size !== st.size || k.mtimeMs !== st.mtimeMs)) return false;
    const there = await fsp.lstat(this.abs(from)).catch(() => null);
    if (there && there.ino === st.ino && there.dev === st.dev) return false; // a hard link, not a rename
    await this.emit({ kind: 'rename', meta: { from, to: rel } });
    this.known.moveTree(from, rel);
    this.blocks.move(from, rel);
    this.gone.delete(from);
    // The old name may have been reused at once (`mv a b; echo > a`): look at it again.
    if (there) this.hint(from);
    if (type === 'dir') {
      for (const c of this.known.childrenOf(rel)) this.hint(c);
      // Entries not known yet (a mirror still on its way through the tree, or just created)
      // moved too: their target copies, if any, now sit under the new name and are not what the
      // known state says. A scan that already passed this directory will not come back for them.
      for await (const e of scanTree(this.base, this.filter, rel)) this.hint(e.rel);
    }
    return true;
  }

  /**
   * The oldest disappearance if its deadline is at or before `by`. Every entry's deadline is its
   * insertion time plus the window, so the map's first entry is always the earliest (O(1) with a
   * mass delete's thousands of entries).
   */
  private dueGone(by: number): string | undefined {
    const first = this.gone.entries().next();
    return !first.done && first.value[1] <= by ? first.value[0] : undefined;
  }

  private firstGone(): string | undefined {
    return this.gone.keys().next().value;
  }

  /** When the oldest disappearance settles (see dueGone), or Infinity. */
  private earliestGone(): number {
    const first = this.gone.values().next();
    return first.done ? Infinity : first.value;
  }

  private async settleGone(rel: string): Promise<void> {
    this.gone.delete(rel);
    if (!this.known.get(rel)) return; // renamed away, or covered by an ancestor's delete
    // A vanished ancestor's own delete covers this path; let that one go first.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const anc = parts.slice(0, i).join('/');
      if (this.known.get(anc) && !(await fsp.lstat(this.abs(anc)).catch(() => null))) {
        // The ancestor gets its own rename window (its event may not have come in yet: a moved
        // directory's children can be reported gone first). Should it come back as it was (moved
        // away and back), nothing would look at this path again: look once more after it settled.
        if (!this.gone.has(anc)) this.gone.set(anc, Date.now() + RENAME_WINDOW_MS);
        this.later(3 * RENAME_WINDOW_MS, () => this.hint(rel));
        return;
      }
    }
    if (await fsp.lstat(this.abs(rel)).catch(() => null)) return this.hint(rel);
    const k = this.known.get(rel) as Known;
    await this.emit({ kind: k.type === 'dir' ? 'rmdir' : 'delete', meta: { p: rel } });
    this.known.deleteTree(rel);
    this.blocks.deleteTree(rel);
    for (const g of [...this.gone.keys()]) if (g.startsWith(rel + '/')) this.gone.delete(g);
  }

  private record(rel: string, st: Stats, type: Known['type'], link?: string): void {
    this.known.set(rel, {
      type,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      mode: st.mode & 0o7777,
      link,
    });
  }

  private async checkDir(
    rel: string,
    st: Stats,
    k: Known | undefined,
    scanned = false,
  ): Promise<void> {
    const mode = st.mode & 0o7777;
    if (!k) {
      const old = this.known.get(rel);
      if (old) {
        // Replaced (`rm -rf d; mkdir d`): the old tree goes on the target too. Its children are
        // forgotten here, so their own unlink hints would no longer delete anything.
        if (old.type === 'dir') await this.emit({ kind: 'rmdir', meta: { p: rel } });
        this.known.deleteTree(rel);
        this.blocks.deleteTree(rel);
      }
      await this.emit({ kind: 'mkdir', meta: { p: rel, mode } });
      this.record(rel, st, 'dir');
      this.watchDir(rel);
      // Entries created before the watcher saw the directory are found by listing it, now and
      // again shortly: chokidar lists a new directory before its fs.watch is in place, so a file
      // created in between has no event at all (one of 1,000 files in a burst was lost that way).
      if (!scanned) {
        const names = await fsp.readdir(this.abs(rel)).catch(() => [] as string[]);
        for (const n of names) this.hint(`${rel}/${n}`);
      }
      // A directory unchanged since before the watcher started was watched from the start (a
      // mirror of a big existing tree would otherwise list every directory four more times).
      if (st.ctimeMs >= this.watchingSince - 1000)
        for (const ms of RELIST_AFTER_MS) this.later(ms, () => this.relist(rel));
      return;
    }
    if (k.mode !== mode) await this.emit({ kind: 'attr', meta: { p: rel, mode } });
    this.record(rel, st, 'dir');
  }

  private async checkSymlink(rel: string, st: Stats, k: Known | undefined): Promise<void> {
    const target = await fsp.readlink(this.abs(rel)).catch(() => null);
    if (target === null) return this.hint(rel);
    if (!k || k.link !== target) {
      if (!k && this.known.get(rel)?.type === 'dir') this.known.deleteTree(rel);
      await this.emit({ kind: 'symlink', meta: { p: rel, target, mtime: st.mtimeMs } });
    }
    this.record(rel, st, 'symlink', target);
  }

  private async checkFile(rel: string, st: Stats, k: Known | undefined): Promise<void> {
    const mode = st.mode & 0o7777;
    if (k && k.size === st.size && k.mtimeMs === st.mtimeMs) {
      if (k.mode !== mode) await this.emit({ kind: 'attr', meta: { p: rel, mode } });
      this.record(rel, st, 'file');
      return;
    }
    if (!k && this.known.get(rel)?.type === 'dir') this.known.deleteTree(rel);
    const prev = k ? this.blocks.get(rel) : undefined;
    const res = await captureFile(this.abs(rel), rel, prev, (e) => this.emit(e), false, st.size, {
      beforePart: this.mirrorGate ?? undefined,
    });
    if (!res) return this.hint(rel); // vanished or changed type while opening: look again
    if (res.partial) return this.stoppedAt(rel, st, res.partial);
    this.blocks.set(rel, res.hashes);
    // Known state takes the stat from before the read: if the file changed while it was read, the
    // next check sees a difference and captures again (the block hashes are those of what was sent).
    this.record(rel, st, 'file');
    if (!sameFile(res.stat, st)) this.hint(rel);
  }
}
