// The mirror's per-file steps, run in the capture pipeline: record a path the target already
// has, send one whole, compare a file's blocks with the target's and send only what differs
// (or a content-defined delta), and finish a whole-file send a pause cut short. They work
// through MirrorHost, which Capture implements; the ack wait and the target are constructor
// arguments, so a mirror without them does not compile.
import { promises as fsp, type Stats } from 'node:fs';
import { StreamBlockHasher } from '../delta/index.js';
import { blocksBlockSize } from '../protocol/limits.js';
import type { BlocksReply } from '../protocol/requests.js';
import { lstatOrNull, readlinkName } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import type { AckWait } from './ack-waiter.js';
import { bytesOutOfSync } from './compare.js';
import { sendDelta, type AskTarget } from './delta-send.js';
import { fixListedAttrs } from './attr-diff.js';
import { knownType, type ScanStat } from './entry-type.js';
import { CAPTURE_BLOCK, captureFile } from './file-capture.js';
import { knownIs, knownMatchesDisk, sameContentStamp, sameFile } from './known.js';
import type { BlockHashes, Ledger } from './ledger.js';
import {
  attrsDiffer,
  basisOf,
  differingRanges,
  hashForMirror,
  looksShifted,
  sameContent,
  sendRanges,
} from './mirror-file.js';
import { type CheckOptions } from './path-check.js';
import type { MirrorCursor, SendGate } from './send-gate.js';
import { fsPath } from '../fsmeta/index.js';

/** Files smaller than this are compared block by block only (a delta's round trips cost more). */
const SHIFT_MIN_BYTES = 256 * 1024;

/** What the mirror's steps need of the capture pipeline. */
export interface MirrorHost {
  readonly ledger: Ledger;
  abs(rel: string): string;
  hint(rel: string): void;
  watchDir(rel: string): void;
  /** When the watcher started watching (Date.now(); 0: not yet). */
  readonly watchingSince: number;
  resend(rel: string, o?: CheckOptions): Promise<void>;
}

/** The target's side of a comparison. */
export interface TargetRemote {
  blocks(rel: string): Promise<BlocksReply>;
  request: AskTarget;
}

/** Mode, mtime and attribute stamp of the target's copy, as listed. */
export type Listed = { mode: number; mtimeMs: number; attrs?: string };

/** What a step knows of the listing it decided from (target-view.ts). */
export interface ListingView {
  /** The seq the listing describes the target after. */
  readonly seq: number;
  /** Whether a rename or delete queued after the listing moved or removed `rel` on the target. */
  touched(rel: string): boolean;
}

/**
 * Mode and mtime for a delta's last part: those of the stat taken before the file was read (see
 * file-capture.ts, WholeOptions.stamp).
 */
function attrsOf(st: Stats): () => Promise<{ mode: number; mtime: number }> {
  return async () => ({ mode: st.mode & 0o7777, mtime: st.mtimeMs });
}

/** One connection's mirror steps. */
export class MirrorSteps {
  constructor(
    private readonly host: MirrorHost,
    private readonly acks: AckWait,
    private readonly remote: TargetRemote,
  ) {}

  /**
   * One path: `send` resends it in full; otherwise the target's copy matched the scan's stat
   * (sameAsListed). `sinceSeq`: where this mirror's steps began.
   */
  async path(
    rel: string,
    send: boolean,
    st: ScanStat,
    sinceSeq: number,
    view: ListingView,
    gate?: SendGate,
    listed?: Listed,
    relink = false,
  ): Promise<void> {
    const { ledger } = this.host;
    // Sent already during this mirror (a new directory's check queues its entries): not again.
    if (send && !relink && ledger.lastSeq(rel) > sinceSeq && this.knownMatchesDisk(rel)) return;
    if (log.debugOn) log.debug(`mirror ${rel}: ${send ? 'send' : 'same'}`);
    // A directory's entries are the scan's own next steps: listing them here too would send them
    // as hints, outside the steps whose sizes the mirror counts against its queue bound (a full
    // mirror into an empty replica then ran twice the bound ahead and out of the hot tail).
    // A second name of an inode this mirror sent goes as a link (hard-link.ts); `relink`: the
    // target groups this name otherwise, so any name the index holds of its inode will do.
    const linkAfter = relink ? -1 : sinceSeq;
    if (send) return this.host.resend(rel, { scanned: true, gate, linkAfter });
    return this.sameAsListed(rel, st, view, listed);
  }

  /**
   * The listing showed the target holding what the scan saw at `rel`. That is recorded in the
   * index only while it is still true of the target: no rename or delete queued since the listing
   * moved it away, and no op since described it otherwise (then the index already says more).
   * Recording it anyway was the phantom state of the chaos runs (docs/CHAOS.md, cause B).
   */
  private async sameAsListed(
    rel: string,
    st: ScanStat,
    view: ListingView,
    listed?: Listed,
  ): Promise<void> {
    const { ledger } = this.host;
    const k = ledger.get(rel);
    if (view.touched(rel) || (k !== undefined && k.seq > view.seq)) return this.host.hint(rel);
    // Owner, ns mtime, xattrs or ACLs differ on the target: an attr op, then recorded below.
    const fixed = await fixListedAttrs(this.host, rel, st, listed);
    const type = knownType(st) ?? 'file';
    const now = lstatOrNull(this.host.abs(rel));
    const unchanged = now !== null && knownType(now) === type && knownIsStat(now, st);
    if (!fixed && unchanged && k && !k.unsure && knownIs(k, st, type)) return ledger.checked(rel);
    const link =
      type === 'symlink'
        ? ((await readlinkName(this.host.abs(rel)).catch(() => undefined)) ?? undefined)
        : undefined;
    // Block hashes held describe the target's copy only if it is the content they were taken of.
    const blocks = k && !k.unsure && sameContentStamp(k, st) ? 'keep' : null;
    ledger.record(rel, st, type, { link, blocks });
    // Changed since the scan (renamed away, replaced, written): the target holds the scan's
    // state, recorded above; the check compares the disk with it like any other hint.
    if (!unchanged) return this.host.hint(rel);
    if (type === 'dir') this.host.watchDir(rel);
  }

  /**
   * A file the target has: compare against the target's block hashes (fetched here, after every
   * queued op on this path was applied, so they describe the basis the writes will meet), then
   * send nothing, or only the differing blocks with a whole-file proof. Returns the bytes sent.
   */
  async blocks(rel: string, listed: Listed): Promise<number> {
    if (log.debugOn) log.debug(`mirror ${rel}: compare blocks`);
    await this.acks.until(this.host.ledger.lastSeq(rel));
    try {
      return await this.compareAndSend(rel, listed);
    } catch (err) {
      // The target's copy is known to differ, so the step may not end without a decision: a
      // file that vanished or changed under the comparison is looked at again from scratch (sent
      // whole, or deleted on the target if it is gone). A real fault still surfaces.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
      await this.host.resend(rel);
      return 0;
    }
  }

  /**
   * A file proven equal on the target (same sha256): nothing to send but its mode/mtime if those
   * differ; its block hashes become the basis for later changes. If the file changed since it
   * was hashed, the next check sends the change. `sinceSeq`: the target's hash describes it after
   * this seq; an op queued for the path since then supersedes it.
   */
  async same(
    rel: string,
    scanned: ScanStat,
    listed: Listed,
    hashes: BlockHashes,
    sinceSeq = Infinity,
  ): Promise<void> {
    const { ledger } = this.host;
    const st = lstatOrNull(this.host.abs(rel));
    if (!st?.isFile() || !sameFile(st, scanned) || ledger.lastSeq(rel) > sinceSeq) {
      // Changed or gone since it was hashed: the target's copy was the old content, so nothing
      // known may be assumed about it (a plain hint would do nothing for an unknown, vanished path).
      return this.host.resend(rel);
    }
    if (attrsDiffer(st, listed)) {
      await ledger.emit({
        kind: 'attr',
        meta: { p: rel, mode: st.mode & 0o7777, mtime: st.mtimeMs },
      });
    } else {
      await fixListedAttrs(this.host, rel, st, listed);
    }
    ledger.record(rel, st, 'file', { blocks: hashes });
  }

  /**
   * The rest of a whole file whose send stopped at a pause. If the file changed since, it is sent
   * again from the start (the target drops the old transfer's temp file); if a live change sent
   * it whole meanwhile, nothing is left to do.
   */
  async continueWhole(c: MirrorCursor, gate: SendGate): Promise<void> {
    const { ledger } = this.host;
    const abs = this.host.abs(c.rel);
    const st = lstatOrNull(abs);
    // Sent by another step or a live change since it stopped: nothing is left to do.
    if (ledger.lastSeq(c.rel) !== c.seq && this.knownMatchesDisk(c.rel)) return;
    if (!st?.isFile() || !sameFile(st, c)) return this.host.resend(c.rel, { gate });
    const emit = (e: Parameters<Ledger['emit']>[0]) => ledger.emit(e);
    const res = await captureFile(abs, c.rel, undefined, emit, false, st.size, {
      from: c.at,
      beforePart: () => gate.beforePart(),
      stamp: st,
    });
    if (!res) return this.host.resend(c.rel, { gate });
    if (res.partial) {
      return gate.stopped({
        ...c,
        at: res.partial,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
      });
    }
    // Its block hashes cover only the part sent last: none are kept, the next change goes whole.
    ledger.record(c.rel, st, 'file', { blocks: null });
    if (res.stat.mtimeMs !== st.mtimeMs || res.stat.size !== st.size) this.host.hint(c.rel);
  }

  /** True when the index's state of `rel` is what is on disk now. */
  private knownMatchesDisk(rel: string): boolean {
    const k = this.host.ledger.get(rel);
    return !k?.unsure && knownMatchesDisk(k, lstatOrNull(this.host.abs(rel)));
  }

  private async compareAndSend(rel: string, listed: Listed): Promise<number> {
    const abs = this.host.abs(rel);
    const st = await fsp.lstat(fsPath(abs)).catch(() => null);
    if (!st?.isFile()) return (await this.host.resend(rel), 0);
    if (await looksShifted(abs, rel, st.size, this.remote.request)) return this.shifted(rel, st);
    // Both sides hash at once: the target's block size is a function of the size, so the local
    // pass need not wait for the reply (it is redone only if the target's copy sizes differently).
    const guess = blocksBlockSize(st.size);
    const [theirs, first] = await Promise.all([this.remote.blocks(rel), hashForMirror(abs, guess)]);
    const basis = basisOf(theirs);
    if (!basis) return (await this.host.resend(rel), st.size);
    const local = basis.blockSize === guess ? first : await hashForMirror(abs, basis.blockSize);
    if (!local) return (await this.host.resend(rel), 0);
    if (sameContent(local, theirs)) return (await this.same(rel, st, listed, local.capture), 0);
    // Scattered changes go as in-place block writes; when most blocks differ at their offsets the
    // data has probably moved (bytes inserted or removed), and a content-defined delta finds it.
    const outOfSync = bytesOutOfSync(
      { size: local.size, hashes: local.atBasis },
      basis,
      basis.blockSize,
    );
    const emit = (e: Parameters<Ledger['emit']>[0]) => this.host.ledger.emit(e);
    if (local.size >= SHIFT_MIN_BYTES && outOfSync > local.size / 8) {
      const d = await sendDelta(abs, rel, this.remote.request, emit, attrsOf(st), {
        sha256: local.sha256, // known to differ from the target's: no second pass for it
      });
      this.sent(rel, st, local.capture);
      return d.literalBytes;
    }
    // The differing blocks are known from the hashing pass: read and send only those.
    const ranges = differingRanges(local, basis);
    const res = await sendRanges(abs, rel, ranges, local, emit, st);
    this.sent(rel, st, local.capture);
    return res.bytes;
  }

  /** Most of the file moved on the target (a sampled comparison says so): straight to the delta. */
  private async shifted(rel: string, st: Stats): Promise<number> {
    const abs = this.host.abs(rel);
    // Its chunking pass also yields the block hashes capture keeps.
    const blocks = new StreamBlockHasher(CAPTURE_BLOCK);
    const emit = (e: Parameters<Ledger['emit']>[0]) => this.host.ledger.emit(e);
    const d = await sendDelta(abs, rel, this.remote.request, emit, attrsOf(st), {
      blocks,
      differs: true, // the sample proved it
    });
    // (Never `unchanged`: the target was told the files differ and did not hash its copy.)
    this.sent(rel, st, { blockSize: CAPTURE_BLOCK, size: blocks.size, hashes: blocks.finish() });
    return d.literalBytes;
  }

  /**
   * After a mirror sent a file as the hashing pass saw it (with that pass's sha256 as the proof):
   * unchanged since, its hashes are the basis of later changes; changed, the target's proof fails
   * (it asks for the file whole) and the change is looked at again.
   */
  private sent(rel: string, hashed: Stats, hashes: BlockHashes): void {
    const { ledger } = this.host;
    const unchanged = sameFile(lstatOrNull(this.host.abs(rel)), hashed);
    ledger.record(rel, hashed, 'file', { blocks: unchanged ? hashes : null });
    if (!unchanged) this.host.hint(rel);
  }
}

/** Same inode, type bits, mode, size and mtime: the stat the scan took still holds. */
function knownIsStat(now: Stats, then: ScanStat): boolean {
  return now.dev === then.dev && now.mode === then.mode && sameFile(now, then);
}
