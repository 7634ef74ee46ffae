// Mirror: brings the whole target copy in line with the source. The target's listing is compared
// with a scan of the source; each differing path becomes a step in the capture pipeline, so mirror
// data travels in the same ordered stream as live replication and neither can reorder the other.
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Journal } from '../journal/journal.js';
import type { AckWait } from './ack-waiter.js';
import type { Capture } from './capture.js';
import { orphanStep } from './mirror-orphans.js';
import type { PathFilter } from './filter.js';
import type { Link } from './link.js';
import { MirrorPace } from './mirror-pace.js';
import { decide, type MirrorOptions } from './mirror-plan.js';
import { ProgressTracker, type MirrorProgress } from './mirror-progress.js';
import { MirrorSteps } from './mirror-steps.js';
import { HeldCandidate, SUMS_BATCH, SUMS_BATCH_BYTES, splitBySums } from './mirror-sums.js';
import { settleEqual } from './mirror-equal.js';
import { SameBatch, settleSame } from './mirror-same.js';
import type { ScanStat } from './entry-type.js';
import type { ScanSkip } from './scan.js';
import { scanInPathOrder } from './scan-listed.js';
import { ScanBatch, sendSmallFiles } from './small-files.js';
import { TargetView } from './target-view.js';
import { remoteBlocks, remoteSums, unreachable } from './mirror-link.js';

/** What a mirror is asked to do, and how it decides per entry (mirror-plan.ts). */
export type { MirrorMode, MirrorOptions } from './mirror-plan.js';
export { decide, differs } from './mirror-plan.js';
export type { MirrorProgress, MirrorState } from './mirror-progress.js';

const SUMS_IN_FLIGHT = 4; // sums batches out before the oldest is awaited (2: 60 s idle of 86 s)

/** Runs mirrors for one connection, one at a time, and reports progress. */
export class Mirror {
  private readonly tracker = new ProgressTracker();
  private readonly steps: MirrorSteps;
  private readonly pace: MirrorPace;

  constructor(
    private readonly base: string,
    private readonly filter: PathFilter,
    private readonly capture: Capture,
    private readonly link: Link,
    private readonly journal: Journal,
    acks: AckWait,
  ) {
    this.steps = new MirrorSteps(capture, acks, {
      blocks: (p) => remoteBlocks(link, p),
      request: (req, body) => link.request(req, body),
    });
    this.pace = new MirrorPace(
      { pipeline: capture, queuedBytes: () => journal.stats().bytes },
      this.steps,
    );
    journal.onAppend(() => this.pace.change.notify());
    // The scan and part gates wait for the queue to shrink: wake them on every ack, not on a poll.
    // Progress and completion follow at once too (the connection's 50 ms poll is the fallback).
    journal.onAck(() => this.onAck());
  }

  /** The contract's mirror block. */
  get progress(): MirrorProgress {
    return this.tracker.progress;
  }

  get active(): boolean {
    return ['calculating', 'mirroring', 'paused'].includes(this.progress.state);
  }

  /** Starts a mirror (replacing one in progress); resolves once it is under way. */
  start(opts: MirrorOptions): void {
    const id = ++this.pace.runId;
    this.pace.paused = false;
    this.pace.requeueDeferred();
    this.tracker.restart(opts.mode);
    void this.run(id, opts).catch((err) => {
      if (id !== this.pace.runId) return;
      this.progress.state = 'stopped';
      this.progress.error = (err as Error).message;
    });
    this.pace.change.notify();
  }

  pause(): void {
    if (!this.active) throw new SmrError('usage', 'no mirror is running');
    this.pace.paused = true;
    this.progress.state = 'paused';
  }

  resume(): void {
    if (this.progress.state !== 'paused') throw new SmrError('usage', 'the mirror is not paused');
    this.pace.paused = false;
    this.progress.state = this.tracker.resumedState;
    this.pace.requeueDeferred();
    this.pace.change.notify();
  }

  stop(): void {
    if (!this.active) return;
    this.pace.runId++;
    this.pace.requeueDeferred(); // they see the new runId and end at once, settling their waiters
    this.progress.state = 'stopped';
    this.pace.change.notify();
  }

  /** A resend the target asked for is on its way: hold completion until it is queued (call the result). */
  holdForResend(): () => void {
    const release = this.tracker.holdForResend(() => this.journal.lastSeq);
    return () => {
      release();
      this.pace.change.notify();
    };
  }

  /** Called on every ack: advances done counters and completes the mirror. */
  onAck(): void {
    const was = this.progress.state;
    this.tracker.acked(this.journal.ackedSeq);
    // Every source path has now been compared with the target: a path the index lacks is new.
    if (was !== 'complete' && this.progress.state === 'complete' && !this.capture.ledger.baseline)
      this.capture.ledger.setBaseline(true);
    this.pace.change.notify();
  }

  /** Resolves when the mirror is no longer running (complete, stopped or idle). */
  async settled(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.active) {
      if (Date.now() >= end)
        throw new SmrError('timeout', `mirror still ${this.progress.state} after ${timeoutMs} ms`);
      await this.pace.change.wait(Math.min(500, end - Date.now()));
    }
  }

  /** checksum mirror: equal files recorded in one step for the batch, the others a step each. */
  private async compareBatch(id: number, batch: HeldCandidate[]): Promise<void> {
    if (batch.length === 0 || id !== this.pace.runId) return;
    // The target's sums describe it after what was queued before they were asked for.
    const since = this.capture.ledger.lastQueued;
    const ask = (paths: string[]) => remoteSums(this.link, paths);
    const { equal, differ } = await splitBySums(this.base, batch, ask);
    for (const b of differ)
      this.pace.detachStep(id, b.st.size, async () => {
        await this.steps.blocks(b.rel, b.t);
        this.tracker.queuedUpTo(this.journal.lastSeq, b.st.size);
      });
    // (A step each for equal files was a tenth of the source's time in a no-change checksum mirror.)
    if (equal.length)
      this.pace.detachStep(id, 0, async () => {
        await settleEqual(this.capture, this.steps, equal, since);
        for (const [b] of equal) this.tracker.queuedUpTo(this.journal.lastSeq, b.st.size);
      });
  }

  private async run(id: number, opts: MirrorOptions): Promise<void> {
    await this.reconcileFirst(id, opts);
    // Follows every rename and delete queued from here on, so orphans are deleted under the
    // names they have on the target when the deletes arrive (src/source/target-view.ts).
    for (;;) {
      const view = new TargetView(this.capture);
      try {
        // A target that goes away while the listing or the scan goes on is waited for, then
        // asked again: a mirror given up there (stopped, its error counted as done) left the
        // replica's orphans and stale files for good (docs/CHAOS.md, cause D).
        if (await this.listInto(id, view)) return await this.scanAndSend(id, opts, view);
      } catch (err) {
        if (!unreachable(err) || id !== this.pace.runId) throw err;
        log.debug(`mirror: the target went away (${(err as Error).message}); listing again`);
      } finally {
        view.close();
      }
    }
  }

  /**
   * Before listing the target, the index's own record is brought in line with the disk: renames
   * and deletions since the index last saw each path are queued (through the brake), so what the
   * listing shows of them is not mistaken for orphans or stale files. Paths the index lacks are
   * left to the comparison with the listing.
   */
  private async reconcileFirst(id: number, opts: MirrorOptions): Promise<void> {
    if (this.capture.ledger.index.count() === 0) return;
    const r = await this.capture.rescan({ unknown: 'renames', brake: true, force: opts.force });
    if (id === this.pace.runId && r.held)
      this.progress.error = `deletions held: ${r.held} (smr mirror start --force)`;
  }

  /** Drains the queue, then lists the target into `view`; false when the link dropped meanwhile. */
  private async listInto(id: number, view: TargetView): Promise<boolean> {
    // The listing should describe the target after everything already queued (anything else
    // would be sent again), so drain first.
    const drainTo = this.journal.lastSeq;
    while (this.journal.ackedSeq < drainTo || this.link.state !== 'connected') {
      await this.pace.gate(id);
      await this.pace.change.wait(200);
    }
    try {
      view.listed(await this.link.listTarget((items) => view.add(items)));
      return true;
    } catch (err) {
      if (unreachable(err)) return false;
      throw err;
    }
  }

  private async scanAndSend(id: number, opts: MirrorOptions, view: TargetView): Promise<void> {
    const target = view.entries;
    await this.pace.gate(id);
    this.progress.state = 'mirroring';
    const targetEntries = target.size;
    log.debug(`mirror: target lists ${targetEntries} entries`);
    const startSeq = this.journal.lastSeq;
    let sourceEntries = 0;
    const batch: HeldCandidate[] = [];
    const batches: Array<Promise<void>> = [];
    let batchBytes = 0;
    const skip = (s: ScanSkip): void => this.capture.skipped.skip(s.rel, s.reason, s.why);
    const links = this.capture.hardLinks ? target.linkGrouping() : null;
    // Entries found equal go many per step; whatever is queued next waits for those before it.
    const sparse = opts.mode === 'checksum'; // its 'same' entries: directories, far apart
    const same = new SameBatch((items) =>
      this.pace.detachStep(id, 0, () =>
        settleSame(this.capture, this.steps, view, items, startSeq, sparse),
      ),
    );
    const small = new ScanBatch((items, bytes) =>
      this.pace.detachStep(id, bytes, async (gate) => {
        const alone = (rel: string, st: ScanStat) =>
          this.steps.path(rel, true, st, startSeq, view, gate);
        await sendSmallFiles(this.capture, items, startSeq, gate, alone);
        for (const f of items)
          // per entry (a directory counts no bytes)
          this.tracker.queuedUpTo(this.journal.lastSeq, f.st.isFile() ? f.st.size : 0);
      }),
    );
    for await (const { rel, st } of scanInPathOrder(this.base, this.filter, skip, true)) {
      await this.pace.gate(id);
      sourceEntries++;
      // (An empty listing stays empty: no look-up per entry in a mirror into an empty replica.)
      const t = targetEntries === 0 ? undefined : target.take(rel);
      // Linked otherwise on the target: sent again, as a link where a partner was sent.
      const relink = links?.differs(st, t) === true;
      const action = relink ? 'whole' : decide(st, t, opts);
      if (action !== 'same') this.tracker.planned(st.isFile() ? st.size : 0);
      // checksum: files of equal size are first compared by sha256, many per round trip.
      if (opts.mode === 'checksum' && action === 'blocks' && t && t.size === st.size) {
        batch.push(new HeldCandidate(rel, st, t));
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
      if (action === 'same' && t) {
        small.flush();
        same.add(rel, st, t);
        continue;
      }
      same.flush();
      // New small files go many per step and per record (small-files.ts), in scan order, and
      // with them the directories the target lacks (nothing listed there).
      const bulk = action === 'whole' && !relink && (t === undefined || !st.isDirectory());
      if (bulk && small.add(rel, st, this.capture.hardLinks)) continue;
      // What was gathered goes before this entry (new directories ride in the batch, so a tree
      // of ~10 files per directory still goes up to 512 entries per batch).
      small.flush();
      const mayQueue = action === 'same' || !st.isFile() ? 0 : st.size;
      this.pace.detachStep(id, mayQueue, async (gate) => {
        if (action === 'blocks' && t) await this.steps.blocks(rel, t);
        else await this.steps.path(rel, action !== 'same', st, startSeq, view, gate, t, relink);
        if (action !== 'same')
          this.tracker.queuedUpTo(this.journal.lastSeq, st.isFile() ? st.size : 0);
      });
    }
    small.flush();
    same.flush();
    batches.push(this.compareBatch(id, batch));
    for (const p of batches) await p;
    const deletes = orphanStep(this.capture, this.filter, opts, view, {
      targetEntries,
      sourceEntries,
      base: this.base,
      progress: this.progress,
    });
    if (deletes) {
      await this.pace.gate(id);
      this.progress.deleted = await deletes(() => id === this.pace.runId);
    }
    // Behind every step of this mirror, those set aside by a pause included.
    await this.pace.step(id, async () => this.tracker.scanDone(this.journal.lastSeq));
    if (id !== this.pace.runId) return;
    if (!this.pace.paused) this.progress.state = 'mirroring';
    this.onAck();
  }
}
