// How a mirror's work enters the capture pipeline: each step queued under the run it belongs to,
// held back while the queue is long, set aside (in order) while the mirror is paused, and a whole
// file cut short by a pause continued first on resume.
import { SmrError } from '../shared/errors.js';
import { Signal } from '../shared/signal.js';
import type { MirrorSteps } from './mirror-steps.js';
import type { MirrorCursor, SendGate } from './send-gate.js';
import type { Step } from './work-queue.js';

// Keep the queue short while mirroring: the journal holds mirror data only until it is acked, and
// a sender that stays within the journal's hot tail (HOT_TAIL_BYTES) reads it from memory. Counted:
// what the journal holds unacknowledged plus what queued mirror steps may still add.
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const MAX_PIPELINE_ITEMS = 2000;

/** A mirror step's work; `gate` paces a whole file it sends. */
export type MirrorWork = (gate: SendGate) => Promise<void>;

/** What the pacing needs of the capture pipeline and the journal. */
export interface PaceHost {
  pipeline: {
    enqueueStep(step: Step): Promise<void>;
    detach(step: Step): void;
    failed(err: Error): void;
    readonly backlog: number;
  };
  /** Bytes the journal holds unacknowledged. */
  queuedBytes(): number;
}

/** The pacing of one connection's mirror runs. */
export class MirrorPace {
  /** The current run; steps of an older one do nothing. */
  runId = 0;
  paused = false;
  /** Woken on appends, acks and every switch: the gates wait on it. */
  readonly change = new Signal();
  /** Steps reached while paused, in pipeline order (the cursor a resume continues from). */
  private deferred: Step[] = [];
  /** Bytes the mirror steps queued but not yet run may still add to the journal. */
  private pendingBytes = 0;

  constructor(
    private readonly host: PaceHost,
    private readonly steps: Pick<MirrorSteps, 'continueWhole'>,
  ) {}

  /**
   * Queues `fn` in the capture pipeline as a step of run `id`. A step of a run since stopped or
   * replaced does nothing; a step reached while paused is set aside, in order, and queued again on
   * resume: pausing stops mirror traffic at the next file, not after the up to MAX_PIPELINE_ITEMS
   * steps already queued. (A file already in its step finishes.)
   */
  step(id: number, fn: MirrorWork): Promise<void> {
    return new Promise((resolve, reject) => {
      this.host.pipeline.enqueueStep(this.stepRun(id, fn, resolve, reject)).catch(reject);
    });
  }

  /**
   * step() for callers that do not wait: a failure is logged. `bytes` is what the step may queue
   * at most; the scan holds back while queued steps may add too much.
   */
  detachStep(id: number, bytes: number, fn: MirrorWork): void {
    this.pendingBytes += bytes;
    this.step(id, fn)
      .catch((err: Error) => this.host.pipeline.failed(err))
      .finally(() => {
        this.pendingBytes -= bytes;
        this.change.notify();
      });
  }

  /** Queues again the steps set aside by a pause (or a stop: they end at once). */
  requeueDeferred(): void {
    for (const run of this.deferred.splice(0)) this.host.pipeline.detach(run);
  }

  /** Waits while the scan may not queue more: paused, or too much queued; throws once stopped. */
  async gate(id: number): Promise<void> {
    for (;;) {
      if (id !== this.runId) throw new SmrError('usage', 'mirror stopped');
      const busy =
        this.paused ||
        this.host.queuedBytes() + this.pendingBytes > MAX_QUEUED_BYTES ||
        this.host.pipeline.backlog > MAX_PIPELINE_ITEMS;
      if (!busy) return;
      await this.change.wait(100);
    }
  }

  /**
   * One pipeline run of a mirror step. A whole file it sends waits between parts while the queue
   * is long and stops at a pause; the rest of that file goes first when the mirror resumes.
   */
  private stepRun(
    id: number,
    fn: MirrorWork,
    resolve: () => void,
    reject: (err: unknown) => void,
  ): Step {
    const run = async (): Promise<void> => {
      if (id !== this.runId) return resolve();
      if (this.paused) {
        this.deferred.push(run);
        return;
      }
      const cut: { at?: MirrorCursor } = {};
      const gate: SendGate = {
        beforePart: () => this.partGate(id),
        stopped: (at) => (cut.at = at),
      };
      try {
        await fn(gate);
      } catch (err) {
        return reject(err);
      }
      const at = cut.at;
      if (at) {
        const rest: MirrorWork = (g) => this.steps.continueWhole(at, g);
        const logged = (err: unknown): void => this.host.pipeline.failed(err as Error);
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
      if (this.host.queuedBytes() <= MAX_QUEUED_BYTES) return 'go';
      await this.change.wait(100);
    }
  }
}
