// Mirror: brings the whole target copy in line with the source. The target's listing is compared
// with a scan of the source; each differing path becomes a step in the capture pipeline, so mirror
// data travels in the same ordered stream as live replication and neither can reorder the other.
import path from 'node:path';
import type { Stats } from 'node:fs';
import { hashBlocks, type BlockHashes } from '../delta/index.js';
import { CAPTURE_BLOCK } from './file-capture.js';
import { SmrError } from '../shared/errors.js';
import { Signal } from '../shared/signal.js';
import type { Journal } from '../journal/journal.js';
import type { Capture } from './capture.js';
import type { Link } from './link.js';
import { scanTree } from './scan.js';
import { TargetView } from './target-view.js';
import { MTIME_TOLERANCE_MS, orphanBrake, orphansOf } from './compare.js';
import { log } from '../shared/log.js';
import type { PathFilter } from './filter.js';
import type { ListEntry } from '../protocol/listing.js';
import { blocksReply, sumsReply, type BlocksReply } from '../protocol/requests.js';
import { entryType } from './entry-type.js';

export type MirrorMode = 'full' | 'diff' | 'checksum';

/** A file waiting for the checksum mirror's batched comparison. */
interface Candidate {
  rel: string;
  st: Stats;
  t: ListEntry;
}

/** Mode and mtime of a candidate's target copy, as listed. */
function listed(c: Candidate): { mode: number; mtimeMs: number } {
  return { mode: c.t.mode, mtimeMs: c.t.mtimeMs };
}

// One `sums` request covers this many files, or this many bytes to hash on each side.
const SUMS_BATCH = 256;
const SUMS_BATCH_BYTES = 64 * 1024 * 1024;
// Batches asked for before the oldest one's reply is awaited.
const SUMS_IN_FLIGHT = 2;
export type MirrorState = 'idle' | 'calculating' | 'mirroring' | 'paused' | 'complete' | 'stopped';

/** Options of one mirror run. */
export interface MirrorOptions {
  mode: MirrorMode;
  newerOnly?: boolean;
  deleteOrphans?: boolean;
  /** With deleteOrphans: refuse (and report) deleting more than this share of the target. */
  orphanBrake?: number;
}

/** The contract's mirror progress block. */
export interface MirrorProgress {
  state: MirrorState;
  mode: MirrorMode | null;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  orphans: number;
  error?: string;
}

// Keep the queue short while mirroring: the journal holds mirror data only until it is acked, and
// a sender that stays within the journal's hot tail (HOT_TAIL_BYTES) reads it from memory. Counted:
// what the journal holds unacknowledged plus what queued mirror steps may still add.
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const MAX_PIPELINE_ITEMS = 2000;

/** What a mirror does with one source entry: nothing, send it whole, or compare its blocks. */
export function decide(
  st: Stats,
  t: ListEntry | undefined,
  opts: MirrorOptions,
): 'same' | 'whole' | 'blocks' {
  if (!t || t.type !== entryType(st)) return 'whole';
  if (!st.isFile()) return differs(st, t, opts) ? 'whole' : 'same';
  if (opts.mode === 'full') return 'whole';
  if (opts.newerOnly && st.mtimeMs - t.mtimeMs <= MTIME_TOLERANCE_MS) return 'same';
  // checksum compares every file's blocks whatever its attributes say.
  if (opts.mode === 'checksum' || differs(st, t, opts)) return t.size > 0 ? 'blocks' : 'whole';
  return 'same';
}

/** Whether a source entry differs from the target's listing enough to be sent. */
export function differs(st: Stats, t: ListEntry | undefined, opts: MirrorOptions): boolean {
  const type = entryType(st);
  if (!t || t.type !== type) return true;
  if (type === 'dir') return false;
  if (opts.mode === 'full') return true;
  const mtimeDiff = Math.abs(st.mtimeMs - t.mtimeMs) > MTIME_TOLERANCE_MS;
  if (opts.newerOnly) return st.mtimeMs - t.mtimeMs > MTIME_TOLERANCE_MS;
  return st.size !== t.size || mtimeDiff || (type === 'file' && (st.mode & 0o7777) !== t.mode);
}

function freshProgress(state: MirrorState, mode: MirrorMode | null): MirrorProgress {
  return {
    state,
    mode,
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    percent: 0,
    orphans: 0,
  };
}

/** Runs mirrors for one connection, one at a time, and reports progress. */
export class Mirror {
  progress: MirrorProgress = freshProgress('idle', null);
  private runId = 0;
  private paused = false;
  private change = new Signal();
  private acked: Array<[number, number]> = []; // [seq after a file was queued, its bytes]
  private endSeq = 0;
  private scanned = false;
  private resends = 0;
  /** Steps reached while paused, in pipeline order (the cursor a resume continues from). */
  private deferred: Array<() => Promise<void>> = [];
  /** Bytes the mirror steps queued but not yet run may still add to the journal. */
  private pendingBytes = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly base: string,
    private readonly filter: PathFilter,
    private readonly capture: Capture,
    private readonly link: Link,
    private readonly journal: Journal,
  ) {
    journal.onAppend(() => this.change.notify());
    // The scan and part gates wait for the queue to shrink: wake them on every ack, not on a poll.
    // Progress and completion follow at once too (the connection's 50 ms poll is the fallback).
    journal.onAck(() => this.onAck());
  }

  get active(): boolean {
    return ['calculating', 'mirroring', 'paused'].includes(this.progress.state);
  }

  /** Starts a mirror (replacing one in progress); resolves once it is under way. */
  start(opts: MirrorOptions): void {
    const id = ++this.runId;
    this.paused = false;
    this.requeueDeferred();
    this.acked = [];
    this.endSeq = 0;
    this.scanned = false;
    this.progress = freshProgress('calculating', opts.mode);
    this.running = this.run(id, opts).catch((err) => {
      if (id !== this.runId) return;
      this.progress.state = 'stopped';
      this.progress.error = (err as Error).message;
    });
    this.change.notify();
  }

  pause(): void {
    if (!this.active) throw new SmrError('usage', 'no mirror is running');
    this.paused = true;
    this.progress.state = 'paused';
  }

  resume(): void {
    if (this.progress.state !== 'paused') throw new SmrError('usage', 'the mirror is not paused');
    this.paused = false;
    this.progress.state = this.scanned || this.progress.filesTotal ? 'mirroring' : 'calculating';
    this.requeueDeferred();
    this.change.notify();
  }

  stop(): void {
    if (!this.active) return;
    this.runId++;
    this.requeueDeferred(); // they see the new runId and end at once, settling their waiters
    this.progress.state = 'stopped';
    this.change.notify();
  }

  /** A resend the target asked for is on its way: hold completion until it is queued (call the result). */
  holdForResend(): () => void {
    this.resends++;
    return () => {
      this.resends--;
      this.endSeq = Math.max(this.endSeq, this.journal.lastSeq);
      this.change.notify();
    };
  }

  /** Called on every ack: advances done counters and completes the mirror. */
  onAck(): void {
    const acked = this.journal.ackedSeq;
    while (this.acked.length && (this.acked[0] as [number, number])[0] <= acked) {
      const [, bytes] = this.acked.shift() as [number, number];
      this.progress.filesDone++;
      this.progress.bytesDone += bytes;
    }
    this.updatePercent();
    if (
      this.progress.state === 'mirroring' &&
      this.scanned &&
      this.resends === 0 &&
      acked >= this.endSeq &&
      this.acked.length === 0
    ) {
      this.progress.state = 'complete';
      this.progress.percent = 100;
    }
    this.change.notify();
  }

  /** Resolves when the mirror is no longer running (complete, stopped or idle). */
  async settled(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.active) {
      if (Date.now() >= end)
        throw new SmrError('timeout', `mirror still ${this.progress.state} after ${timeoutMs} ms`);
      await this.change.wait(Math.min(500, end - Date.now()));
    }
  }

  /**
   * checksum mirror, first pass: the target's sha256 of a batch of files in one round trip,
   * compared with a local pass that also yields the block hashes later changes need. Equal
   * files are recorded as known; the others take the per-file block comparison.
   */
  private async compareBatch(id: number, batch: Candidate[]): Promise<void> {
    if (batch.length === 0 || id !== this.runId) return;
    const reply = this.withLink(() =>
      this.link.request({ op: 'sums', paths: batch.map((b) => b.rel) }),
    );
    reply.catch(() => undefined);
    const local: Array<BlockHashes | null> = [];
    for (const b of batch)
      local.push(
        await hashBlocks(path.join(this.base, ...b.rel.split('/')), CAPTURE_BLOCK).catch(
          () => null,
        ),
      );
    const sums = sumsReply(await reply, batch.length);
    // Equal files are recorded in one pipeline step for the batch (a step each was a tenth of the
    // source's time in a no-change checksum mirror); the others take a step each.
    const equal: Array<[Candidate, BlockHashes]> = [];
    batch.forEach((b, i) => {
      const mine = local[i];
      const theirs = sums[i];
      if (mine && theirs && theirs.size === mine.size && theirs.sha256 === mine.sha256) {
        equal.push([b, mine]);
        return;
      }
      this.detachStep(id, b.st.size, async () => {
        await this.capture.mirrorBlocks(b.rel, listed(b), {
          blocks: (p) => this.fetchRemote(p),
          request: (req, body) => this.link.request(req, body),
        });
        this.acked.push([this.journal.lastSeq, b.st.size]);
      });
    });
    if (equal.length)
      this.detachStep(id, 0, async () => {
        for (const [b, mine] of equal) {
          // One file's fault must not leave the rest of the batch unrecorded (as separate steps
          // they were independent).
          await this.capture
            .recordSame(b.rel, b.st, listed(b), mine)
            .catch((err: Error) => this.capture.onError(err));
          this.acked.push([this.journal.lastSeq, b.st.size]);
        }
      });
  }

  /**
   * Queues `fn` in the capture pipeline as a step of mirror `id`. A step of a mirror since stopped
   * or replaced does nothing; a step reached while the mirror is paused is set aside, in order,
   * and queued again on resume: pausing stops mirror traffic at the next file, not after the up
   * to MAX_PIPELINE_ITEMS steps already queued. (A file already in its step finishes.)
   */
  private step(id: number, fn: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.capture.enqueueStep(this.stepRun(id, fn, resolve, reject)).catch(reject);
    });
  }

  /**
   * One pipeline run of a mirror step. A whole file it sends waits between parts while the queue
   * is long and stops at a pause (Capture.mirrorGate); the rest of that file goes first when the
   * mirror resumes.
   */
  private stepRun(
    id: number,
    fn: () => Promise<void>,
    resolve: () => void,
    reject: (err: unknown) => void,
  ): () => Promise<void> {
    const run = async (): Promise<void> => {
      if (id !== this.runId) return resolve();
      if (this.paused) {
        this.deferred.push(run);
        return;
      }
      this.capture.mirrorGate = () => this.partGate(id);
      try {
        await fn();
      } catch (err) {
        return reject(err);
      } finally {
        this.capture.mirrorGate = null;
      }
      const cursor = this.capture.takeCursor();
      if (cursor) {
        const rest = (): Promise<void> => this.capture.continueWhole(cursor);
        const logged = (err: unknown): void => this.capture.onError(err as Error);
        this.deferred.unshift(this.stepRun(id, rest, () => undefined, logged));
      }
      resolve();
    };
    return run;
  }

  /** Between two parts of a file this mirror sends whole: wait out a long queue, stop at a pause. */
  private async partGate(id: number): Promise<'go' | 'stop'> {
    for (;;) {
      if (this.paused || id !== this.runId) return 'stop';
      if (this.journal.stats().bytes <= MAX_QUEUED_BYTES) return 'go';
      await this.change.wait(100);
    }
  }

  /**
   * step() for callers that do not wait: a failure is logged by the capture. `bytes` is what the
   * step may queue at most; the scan holds back while queued steps may add too much.
   */
  private detachStep(id: number, bytes: number, fn: () => Promise<void>): void {
    this.pendingBytes += bytes;
    this.step(id, fn)
      .catch((err: Error) => this.capture.onError(err))
      .finally(() => {
        this.pendingBytes -= bytes;
        this.change.notify();
      });
  }

  private requeueDeferred(): void {
    for (const run of this.deferred.splice(0)) this.capture.detach(run);
  }

  /** Runs a request, waiting out a dropped link a few times. */
  private async withLink<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.link.whenConnected(60_000);
        return await fn();
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
  }

  /** The target's block hashes of one file; waits out a dropped link a few times. */
  private fetchRemote(rel: string): Promise<BlocksReply> {
    return this.withLink(async () =>
      blocksReply(await this.link.request({ op: 'blocks', p: rel })),
    );
  }

  private updatePercent(): void {
    const p = this.progress;
    p.percent = p.bytesTotal
      ? Math.floor((p.bytesDone / p.bytesTotal) * 100)
      : p.filesTotal
        ? Math.floor((p.filesDone / p.filesTotal) * 100)
        : 0;
  }

  private async gate(id: number): Promise<void> {
    for (;;) {
      if (id !== this.runId) throw new SmrError('usage', 'mirror stopped');
      const busy =
        this.paused ||
        this.journal.stats().bytes + this.pendingBytes > MAX_QUEUED_BYTES ||
        this.capture.backlog > MAX_PIPELINE_ITEMS;
      if (!busy) return;
      await this.change.wait(100);
    }
  }

  private async run(id: number, opts: MirrorOptions): Promise<void> {
    // Follows every rename and delete queued from here on, so orphans are deleted under the
    // names they have on the target when the deletes arrive (src/source/target-view.ts).
    for (;;) {
      const view = new TargetView(this.capture);
      try {
        // A target that goes away before the listing is complete is waited for, then asked
        // again: a mirror given up here (the one after a restart above all) would leave the
        // replica's orphans and stale files for good.
        if (await this.listInto(id, view)) return await this.scanAndSend(id, opts, view);
      } finally {
        view.close();
      }
    }
  }

  /** Drains the queue, then lists the target into `view`; false when the link dropped meanwhile. */
  private async listInto(id: number, view: TargetView): Promise<boolean> {
    // The listing should describe the target after everything already queued (anything else
    // would be sent again), so drain first.
    const drainTo = this.journal.lastSeq;
    while (this.journal.ackedSeq < drainTo || this.link.state !== 'connected') {
      await this.gate(id);
      await this.change.wait(200);
    }
    try {
      view.listed(await this.link.listTarget((items) => view.add(items)));
      return true;
    } catch (err) {
      if (err instanceof SmrError && err.code === 'unreachable') return false;
      throw err;
    }
  }

  private async scanAndSend(id: number, opts: MirrorOptions, view: TargetView): Promise<void> {
    const target = view.entries;
    await this.gate(id);
    this.progress.state = 'mirroring';
    const targetEntries = target.size;
    log.debug(`mirror: target lists ${targetEntries} entries`);
    const startSeq = this.journal.lastSeq;
    let sourceEntries = 0;
    const batch: Candidate[] = [];
    const batches: Array<Promise<void>> = [];
    let batchBytes = 0;
    for await (const { rel, st } of scanTree(this.base, this.filter)) {
      await this.gate(id);
      sourceEntries++;
      const t = target.get(rel);
      target.delete(rel);
      const action = decide(st, t, opts);
      if (action !== 'same') {
        this.progress.filesTotal++;
        this.progress.bytesTotal += st.isFile() ? st.size : 0;
      }
      // checksum: files of equal size are first compared by sha256, many per round trip.
      if (opts.mode === 'checksum' && action === 'blocks' && t && t.size === st.size) {
        batch.push({ rel, st, t });
        batchBytes += st.size;
        if (batch.length >= SUMS_BATCH || batchBytes >= SUMS_BATCH_BYTES) {
          // The next batch is scanned, asked for and hashed while this one's reply is awaited.
          const p = this.compareBatch(id, batch.splice(0));
          p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
          batches.push(p);
          if (batches.length >= SUMS_IN_FLIGHT) await batches.shift();
          batchBytes = 0;
        }
        continue;
      }
      const mayQueue = action === 'same' || !st.isFile() ? 0 : st.size;
      this.detachStep(id, mayQueue, async () => {
        if (action === 'blocks' && t) {
          await this.capture.mirrorBlocks(
            rel,
            { mode: t.mode, mtimeMs: t.mtimeMs },
            {
              blocks: (p) => this.fetchRemote(p),
              request: (req, body) => this.link.request(req, body),
            },
          );
        } else await this.capture.mirrorPath(rel, action !== 'same', st, startSeq);
        if (action !== 'same') this.acked.push([this.journal.lastSeq, st.isFile() ? st.size : 0]);
      });
    }
    batches.push(this.compareBatch(id, batch));
    for (const p of batches) await p;
    // What is left on the target is not in the source set: orphans (excluded paths protected).
    const found = orphansOf(target, this.filter);
    log.debug(`mirror: scanned ${sourceEntries} entries, ${found.length} orphans`, {
      startSeq,
      orphans: found.slice(0, 50).map((o) => o.path),
    });
    this.progress.orphans = found.length;
    if (opts.deleteOrphans) {
      const brake = orphanBrake({
        orphans: found.length,
        targetEntries,
        sourceEntries,
        maxShare: opts.orphanBrake ?? 1,
        base: this.base,
      });
      if (brake) {
        this.progress.error = `orphans not deleted: ${brake} (see smr orphans)`;
        log.warn(`mirror: ${this.progress.error}`);
      } else {
        await this.gate(id);
        await view.deleteOrphans(this.filter, () => id === this.runId);
      }
    }
    // Behind every step of this mirror, those set aside by a pause included.
    await this.step(id, async () => {
      this.endSeq = this.journal.lastSeq;
      this.scanned = true;
    });
    if (id !== this.runId) return;
    if (!this.paused) this.progress.state = 'mirroring';
    this.onAck();
  }
}
