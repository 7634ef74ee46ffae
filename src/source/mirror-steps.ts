// The mirror's per-file steps, run in the capture pipeline: record a path the target already
// has, send one whole, compare a file's blocks with the target's and send only what differs
// (or a content-defined delta), and finish a whole-file send a pause cut short. They work
// through MirrorHost, which Capture implements; the ack wait and the target are constructor
// arguments, so a mirror without them does not compile.
import { promises as fsp, type Stats } from 'node:fs';
import { StreamBlockHasher } from '../delta/index.js';
import { blocksBlockSize } from '../protocol/limits.js';
import type { BlocksReply } from '../protocol/requests.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import type { AckWait } from './ack-waiter.js';
import type { BlockHashes } from './block-cache.js';
import { bytesOutOfSync } from './compare.js';
import { sendDelta, type AskTarget } from './delta-send.js';
import { entryType } from './entry-type.js';
import { CAPTURE_BLOCK, captureFile } from './file-capture.js';
import type { Ledger } from './ledger.js';
import {
  attrsDiffer,
  basisOf,
  differingRanges,
  hashForMirror,
  looksShifted,
  sameContent,
  sendRanges,
} from './mirror-file.js';
import { sameFile, type CheckOptions } from './path-check.js';
import type { MirrorCursor, SendGate } from './send-gate.js';

/** Files smaller than this are compared block by block only (a delta's round trips cost more). */
const SHIFT_MIN_BYTES = 256 * 1024;

/** What the mirror's steps need of the capture pipeline. */
export interface MirrorHost {
  readonly ledger: Ledger;
  abs(rel: string): string;
  hint(rel: string): void;
  watchDir(rel: string): void;
  resend(rel: string, o?: CheckOptions): Promise<void>;
}

/** The target's side of a comparison. */
export interface TargetRemote {
  blocks(rel: string): Promise<BlocksReply>;
  request: AskTarget;
}

/** Mode and mtime of the target's copy, as listed. */
export type Listed = { mode: number; mtimeMs: number };

/** Mode and mtime of `abs` when a delta's last part is queued. */
function attrsOf(abs: string): () => Promise<{ mode: number; mtime: number }> {
  return async () => {
    const now = await fsp.stat(abs);
    return { mode: now.mode & 0o7777, mtime: now.mtimeMs };
  };
}

/** One connection's mirror steps. */
export class MirrorSteps {
  constructor(
    private readonly host: MirrorHost,
    private readonly acks: AckWait,
    private readonly remote: TargetRemote,
  ) {}

  /**
   * One path: `send` forgets what is known so the check sends it in full; otherwise the
   * target's copy matched the scan's stat, which becomes the known state.
   */
  async path(rel: string, send: boolean, st: Stats, sinceSeq: number, gate?: SendGate) {
    const { ledger } = this.host;
    // Sent already during this mirror (a new directory's check queues its entries): not again.
    if (send && ledger.lastSeq(rel) > sinceSeq && this.knownMatchesDisk(rel)) return;
    if (log.debugOn)
      log.debug(
        `mirror ${rel}: ${send ? 'send' : 'same'}${ledger.known.get(rel) ? ' (known)' : ''}`,
      );
    // A directory's entries are the scan's own next steps: listing them here too would send them
    // as hints, outside the steps whose sizes the mirror counts against its queue bound (a full
    // mirror into an empty replica then ran twice the bound ahead and out of the hot tail).
    if (send) return this.host.resend(rel, { scanned: true, gate });
    if (ledger.known.get(rel)) return; // already handled by live replication, more recently
    // The scan's stat matched the target; if the path changed since (renamed away, replaced),
    // recording it would hide that change for good: check it like any other hint instead.
    const type = entryType(st) ?? 'file';
    const now = lstatOrNull(this.host.abs(rel));
    if (!now || now.dev !== st.dev || !sameFile(now, st)) {
      ledger.record(rel, st, type);
      return this.host.hint(rel);
    }
    const link =
      type === 'symlink'
        ? ((await fsp.readlink(this.host.abs(rel)).catch(() => undefined)) ?? undefined)
        : undefined;
    ledger.record(rel, st, type, link);
    if (type === 'dir') this.host.watchDir(rel);
  }

  /**
   * A file the target has: compare against the target's block hashes (fetched here, after every
   * queued op on this path was applied, so they describe the basis the writes will meet), then
   * send nothing, or only the differing blocks with a whole-file proof. Returns the bytes sent.
   */
  async blocks(rel: string, listed: Listed): Promise<number> {
    if (log.debugOn)
      log.debug(
        `mirror ${rel}: compare blocks${this.host.ledger.known.get(rel) ? ' (known)' : ''}`,
      );
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
   * was hashed, the next check sends the change.
   */
  async same(rel: string, scanned: Stats, listed: Listed, hashes: BlockHashes): Promise<void> {
    const { ledger } = this.host;
    const st = lstatOrNull(this.host.abs(rel));
    if (!st?.isFile() || !sameFile(st, scanned)) {
      // Changed or gone since it was hashed: the target's copy was the old content, so nothing
      // known may be assumed about it (a plain hint would do nothing for an unknown, vanished path).
      return this.host.resend(rel);
    }
    ledger.blocks.set(rel, hashes);
    if (attrsDiffer(st, listed))
      await ledger.emit({
        kind: 'attr',
        meta: { p: rel, mode: st.mode & 0o7777, mtime: st.mtimeMs },
      });
    ledger.record(rel, st, 'file');
  }

  /**
   * The rest of a whole file whose send stopped at a pause. If the file changed since, it is sent
   * again from the start (the target drops the old transfer's temp file); if a live change sent
   * it whole meanwhile, nothing is left to do.
   */
  async continueWhole(c: MirrorCursor, gate: SendGate): Promise<void> {
    const { ledger } = this.host;
    if (ledger.known.get(c.rel)) return;
    const abs = this.host.abs(c.rel);
    const st = lstatOrNull(abs);
    if (!st?.isFile() || !sameFile(st, c)) return this.host.resend(c.rel, { gate });
    const emit = (e: Parameters<Ledger['emit']>[0]) => ledger.emit(e);
    const res = await captureFile(abs, c.rel, undefined, emit, false, st.size, {
      from: c.at,
      beforePart: () => gate.beforePart(),
    });
    if (!res) return this.host.resend(c.rel, { gate });
    if (res.partial) {
      ledger.forget(c.rel);
      return gate.stopped({
        ...c,
        at: res.partial,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
      });
    }
    // Its block hashes cover only the part sent last: none are kept, the next change goes whole.
    ledger.blocks.delete(c.rel);
    ledger.record(c.rel, st, 'file');
    if (res.stat.mtimeMs !== st.mtimeMs || res.stat.size !== st.size) this.host.hint(c.rel);
  }

  /** True when the known state of `rel` is what is on disk now (same inode, size, mtime). */
  private knownMatchesDisk(rel: string): boolean {
    const k = this.host.ledger.known.get(rel);
    const st = lstatOrNull(this.host.abs(rel));
    return Boolean(k && st && sameFile(st, k) && k.type === entryType(st));
  }

  private async compareAndSend(rel: string, listed: Listed): Promise<number> {
    const abs = this.host.abs(rel);
    const st = await fsp.lstat(abs).catch(() => null);
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
      const d = await sendDelta(abs, rel, this.remote.request, emit, attrsOf(abs), {
        sha256: local.sha256, // known to differ from the target's: no second pass for it
      });
      this.sent(rel, st, local.capture);
      return d.literalBytes;
    }
    // The differing blocks are known from the hashing pass: read and send only those.
    const ranges = differingRanges(local, basis);
    const res = await sendRanges(abs, rel, ranges, local, emit);
    this.sent(rel, st, local.capture);
    return res.bytes;
  }

  /** Most of the file moved on the target (a sampled comparison says so): straight to the delta. */
  private async shifted(rel: string, st: Stats): Promise<number> {
    const abs = this.host.abs(rel);
    // Its chunking pass also yields the block hashes capture keeps.
    const blocks = new StreamBlockHasher(CAPTURE_BLOCK);
    const emit = (e: Parameters<Ledger['emit']>[0]) => this.host.ledger.emit(e);
    const d = await sendDelta(abs, rel, this.remote.request, emit, attrsOf(abs), {
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
    ledger.record(rel, hashed, 'file');
    if (sameFile(lstatOrNull(this.host.abs(rel)), hashed)) {
      ledger.blocks.set(rel, hashes);
      return;
    }
    ledger.blocks.delete(rel);
    this.host.hint(rel);
  }
}
