// The source daemon's scheduled jobs, persisted in <state-dir>/schedule.json.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { readJsonFile, writeJsonFile } from '../shared/fsutil.js';
import { validateCron } from './cron-expr.js';

/** File name of the job list inside a state dir. */
export const SCHEDULE_FILE = 'schedule.json';
/** Most characters of a run's output kept in lastRun.output (its end). */
export const MAX_RUN_OUTPUT_CHARS = 4000;
const FORMAT_VERSION = 1;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** How one run of a job ended. */
export interface JobRun {
  startedAt: string;
  endedAt: string;
  exitCode: number;
  ok: boolean;
  output?: string;
  /** 'schedule' when cron fired it, 'manual' for runNow (`smr schedule run`). */
  trigger?: 'schedule' | 'manual';
}

/** One scheduled job: an smr verb and its arguments, run on a cron expression. */
export interface ScheduleJob {
  name: string;
  cron: string;
  /** The smr verb and its arguments, e.g. ['mirror', 'start', 'web', '--mode', 'checksum']. */
  argv: string[];
  createdAt: string;
  lastRun?: JobRun;
  /** Ticks not run because the previous run of the job was still going. */
  skipped?: { count: number; lastAt: string };
}

/** What `add` needs; createdAt defaults to now. */
export type NewScheduleJob = Pick<ScheduleJob, 'name' | 'cron' | 'argv'> & { createdAt?: string };

interface ScheduleFile {
  version: number;
  jobs: ScheduleJob[];
}

/** Throws SmrError('usage') unless `name` is a usable job name. */
export function validateJobName(name: string): void {
  if (!JOB_NAME.test(name)) {
    throw new SmrError(
      'usage',
      `bad job name "${name}"`,
      'use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
}

function validateArgv(argv: unknown): asserts argv is string[] {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new SmrError(
      'usage',
      'a scheduled job needs an smr verb to run',
      'e.g. -- mirror start web --mode checksum',
    );
  }
  if (argv[0] === '' || argv[0]!.startsWith('-')) {
    throw new SmrError('usage', `a scheduled job must start with an smr verb, not "${argv[0]}"`);
  }
}

function keepEnd(text: string, max: number): string {
  return text.length <= max ? text : '…' + text.slice(text.length - max + 1);
}

/**
 * Jobs persisted as JSON. Every call re-reads the file and mutations are written atomically, so a
 * daemon and a verb may both hold a store on the same file; calls through one store are serialized.
 */
export class ScheduleStore {
  /** Absolute path of the schedule file. */
  readonly file: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.file = path.resolve(stateDir, SCHEDULE_FILE);
  }

  /** Adds a job; refuses a bad name, bad cron expression, empty argv or a name already used. */
  async add(job: NewScheduleJob): Promise<ScheduleJob> {
    validateJobName(job.name);
    validateCron(job.cron);
    validateArgv(job.argv);
    const entry: ScheduleJob = {
      name: job.name,
      cron: job.cron,
      argv: [...job.argv],
      createdAt: job.createdAt ?? new Date().toISOString(),
    };
    return this.mutate((jobs) => {
      if (jobs.some((j) => j.name === job.name)) {
        throw new SmrError(
          'usage',
          `job "${job.name}" already exists`,
          'remove it first, or pick another name',
        );
      }
      jobs.push(entry);
      return entry;
    });
  }

  /** All jobs, in the order they were added. */
  list(): Promise<ScheduleJob[]> {
    return this.serialized(async () => (await this.read()).jobs);
  }

  /** One job; SmrError('unknown-job') when there is none by that name. */
  async get(name: string): Promise<ScheduleJob> {
    const job = (await this.list()).find((j) => j.name === name);
    if (!job) throw unknownJob(name);
    return job;
  }

  /** Removes a job and returns it; SmrError('unknown-job') when there is none by that name. */
  remove(name: string): Promise<ScheduleJob> {
    return this.mutate((jobs) => {
      const i = jobs.findIndex((j) => j.name === name);
      const [gone] = i === -1 ? [] : jobs.splice(i, 1);
      if (!gone) throw unknownJob(name);
      return gone;
    });
  }

  /** Records a finished run; false (nothing written) when the job was removed meanwhile. */
  recordRun(name: string, run: JobRun): Promise<boolean> {
    const kept: JobRun = { ...run };
    if (kept.output !== undefined) kept.output = keepEnd(kept.output, MAX_RUN_OUTPUT_CHARS);
    return this.mutate((jobs) => {
      const job = jobs.find((j) => j.name === name);
      if (job) job.lastRun = kept;
      return job !== undefined;
    });
  }

  /** Records a tick skipped because the job was still running; false when the job is gone. */
  recordSkip(name: string, at: Date = new Date()): Promise<boolean> {
    return this.mutate((jobs) => {
      const job = jobs.find((j) => j.name === name);
      if (job) job.skipped = { count: (job.skipped?.count ?? 0) + 1, lastAt: at.toISOString() };
      return job !== undefined;
    });
  }

  private mutate<T>(change: (jobs: ScheduleJob[]) => T): Promise<T> {
    return this.serialized(async () => {
      const data = await this.read();
      const result = change(data.jobs);
      await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeJsonFile(this.file, {
        version: FORMAT_VERSION,
        jobs: data.jobs,
      } satisfies ScheduleFile);
      return result;
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<ScheduleFile> {
    let data: unknown;
    try {
      data = await readJsonFile<unknown>(this.file, { version: FORMAT_VERSION, jobs: [] });
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      data = null;
    }
    const jobs = (data as Partial<ScheduleFile> | null)?.jobs;
    if (!Array.isArray(jobs) || !jobs.every(isJob)) {
      throw new SmrError('config', `${this.file} is not a valid schedule file`, 'fix or remove it');
    }
    return { version: FORMAT_VERSION, jobs };
  }
}

function isJob(j: unknown): j is ScheduleJob {
  const o = j as Partial<ScheduleJob> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.name === 'string' &&
    typeof o.cron === 'string' &&
    Array.isArray(o.argv) &&
    o.argv.every((a) => typeof a === 'string') &&
    typeof o.createdAt === 'string'
  );
}

function unknownJob(name: string): SmrError {
  return new SmrError('unknown-job', `no scheduled job named "${name}"`, 'see: smr schedule list');
}
