// Runs the stored jobs on their cron expressions, never two runs of one job at once.
import { SmrError } from '../shared/errors.js';
import type { JobRun, ScheduleJob, ScheduleStore } from './store.js';
import { scheduleCron, type CronTask } from './cron-expr.js';

/** Runs one job (the daemon spawns `smr <argv> --state-dir ...`); may take as long as it needs. */
export type RunJob = (job: ScheduleJob) => Promise<{ exitCode: number; output?: string }>;

/** What the scheduler reports to the daemon's log; it never prints itself. */
export type SchedulerEvent =
  | { event: 'job-started'; job: string; trigger: 'schedule' | 'manual' }
  | { event: 'job-finished'; job: string; run: JobRun }
  | { event: 'job-skipped'; job: string; trigger: 'schedule' | 'manual'; reason: 'still-running' }
  | { event: 'scheduler-error'; job?: string; message: string };

/** runNow's answer: the run, or why it did not start. */
export type RunNowResult =
  { outcome: 'ran'; run: JobRun } | { outcome: 'skipped'; reason: 'still-running' };

export interface SchedulerOptions {
  onEvent?: (e: SchedulerEvent) => void;
  /** IANA time zone for the cron expressions; default the host's. */
  timezone?: string;
}

interface Scheduled {
  job: ScheduleJob;
  task: CronTask;
}

const silentLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Schedules every job of a store with node-cron; reload() after the store changes. */
export class Scheduler {
  private store: ScheduleStore | undefined;
  private runJob: RunJob | undefined;
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly running = new Map<string, Promise<JobRun>>();
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly options: SchedulerOptions = {}) {}

  /** Loads the store's jobs and starts their timers. */
  async start(store: ScheduleStore, runJob: RunJob): Promise<void> {
    if (this.store) throw new SmrError('internal', 'scheduler already started');
    this.store = store;
    this.runJob = runJob;
    await this.reload();
  }

  /** Re-reads the store: new jobs get timers, removed ones lose them, changed ones are rescheduled. */
  reload(): Promise<void> {
    const next = this.reloading.then(() => this.sync());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /** Runs a job now; skipped (not queued) while a run of it is still going. */
  async runNow(name: string): Promise<RunNowResult> {
    const job = await this.started().store.get(name); // the freshest argv; unknown-job if gone
    const run = this.fire(job, 'manual');
    return run
      ? { outcome: 'ran', run: await run }
      : { outcome: 'skipped', reason: 'still-running' };
  }

  /** Names of the jobs running right now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /** Stops every timer, then waits for runs in progress to end and be recorded. */
  async stop(): Promise<void> {
    await this.reloading;
    for (const { task } of this.scheduled.values()) await task.destroy();
    this.scheduled.clear();
    this.store = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  private started(): { store: ScheduleStore; runJob: RunJob } {
    if (!this.store || !this.runJob) throw new SmrError('internal', 'scheduler not started');
    return { store: this.store, runJob: this.runJob };
  }

  private async sync(): Promise<void> {
    const store = this.store;
    if (!store) return;
    const jobs = await store.list();
    const wanted = new Map(jobs.map((j) => [j.name, j]));
    for (const [name, s] of this.scheduled) {
      const job = wanted.get(name);
      if (job && job.cron === s.job.cron) {
        s.job = job; // same timer; argv may have changed
        continue;
      }
      await s.task.destroy();
      this.scheduled.delete(name);
    }
    for (const job of jobs) {
      if (!this.scheduled.has(job.name)) this.schedule(job);
    }
  }

  private schedule(job: ScheduleJob): void {
    const name = job.name;
    const onTick = (): void => {
      const current = this.scheduled.get(name)?.job;
      if (current && this.store) void this.fire(current, 'schedule');
    };
    try {
      // The tick returns at once: overlap is refused by fire(), for ticks and runNow alike.
      const task = scheduleCron(job.cron, onTick, {
        name: `smr-job:${name}`,
        timezone: this.options.timezone,
        logger: silentLogger,
      });
      this.scheduled.set(name, { job, task });
    } catch (err) {
      this.emit({
        event: 'scheduler-error',
        job: name,
        message: `cannot schedule: ${String(err)}`,
      });
    }
  }

  /** Starts a run unless one is going (then records a skip and returns undefined). */
  private fire(job: ScheduleJob, trigger: 'schedule' | 'manual'): Promise<JobRun> | undefined {
    const { store, runJob } = this.started();
    if (this.running.has(job.name)) {
      this.emit({ event: 'job-skipped', job: job.name, trigger, reason: 'still-running' });
      store.recordSkip(job.name).catch((err: unknown) => this.storeError(job.name, err));
      return undefined;
    }
    const run = this.execute(store, runJob, job, trigger).finally(() =>
      this.running.delete(job.name),
    );
    this.running.set(job.name, run);
    return run;
  }

  private async execute(
    store: ScheduleStore,
    runJob: RunJob,
    job: ScheduleJob,
    trigger: 'schedule' | 'manual',
  ): Promise<JobRun> {
    this.emit({ event: 'job-started', job: job.name, trigger });
    const startedAt = new Date().toISOString();
    let result: { exitCode: number; output?: string };
    try {
      result = await runJob(job);
    } catch (err) {
      result = { exitCode: 1, output: err instanceof Error ? err.message : String(err) };
    }
    const run: JobRun = {
      startedAt,
      endedAt: new Date().toISOString(),
      exitCode: result.exitCode,
      ok: result.exitCode === 0,
      trigger,
    };
    if (result.output !== undefined) run.output = result.output;
    try {
      await store.recordRun(job.name, run);
    } catch (err) {
      this.storeError(job.name, err);
    }
    this.emit({ event: 'job-finished', job: job.name, run });
    return run;
  }

  private storeError(job: string, err: unknown): void {
    this.emit({
      event: 'scheduler-error',
      job,
      message: `cannot record in schedule file: ${String(err)}`,
    });
  }

  private emit(e: SchedulerEvent): void {
    try {
      this.options.onEvent?.(e);
    } catch {
      // A faulty listener must not stop the schedule.
    }
  }
}
