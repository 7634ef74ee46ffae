// The source's record of queued tasks per connection (what `smr tasks` lists), persisted so a
// restart keeps it, and the waiters of `queue-task --wait`.
import crypto from 'node:crypto';
import path from 'node:path';
import { readJsonFile, writeJsonFile } from '../shared/fsutil.js';
import { SmrError } from '../shared/errors.js';
import { Signal } from '../shared/signal.js';
import type { TaskEntry, TaskState } from '../control/replies.js';

export type { TaskEntry, TaskState };

const FINAL: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'timed-out', 'rejected']);
const ORDER: TaskState[] = [
  'queued',
  'sent',
  'received',
  'running',
  'succeeded',
  'failed',
  'timed-out',
  'rejected',
];
const KEEP_FINISHED = 200;

/** True for states a task cannot leave. */
export function isFinal(s: TaskState): boolean {
  return FINAL.has(s);
}

/** A new task id: short, unique, safe in file names and environment variables. */
export function newTaskId(): string {
  return `t${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;
}

/** Tasks of one connection. */
export class TaskTable {
  private tasks: TaskEntry[] = [];
  private changed = new Signal();
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(dir: string): Promise<TaskTable> {
    const t = new TaskTable(path.join(dir, 'tasks.json'));
    t.tasks = await readJsonFile<TaskEntry[]>(t.file, []);
    return t;
  }

  list(): TaskEntry[] {
    return this.tasks.map((t) => ({ ...t }));
  }

  get pending(): number {
    return this.tasks.filter((t) => !isFinal(t.state)).length;
  }

  get(id: string): TaskEntry | undefined {
    return this.tasks.find((t) => t.id === id);
  }

  add(t: TaskEntry): Promise<void> {
    this.tasks.push(t);
    return this.save();
  }

  /** Records the seq a task's marker got in the queue. */
  setSeq(id: string, seq: number): Promise<void> {
    const t = this.get(id);
    if (t) t.seq = seq;
    return this.save();
  }

  /** Applies an update; states only move forward, and final states are kept. */
  update(id: string, patch: Partial<TaskEntry>): Promise<void> {
    const t = this.get(id);
    if (!t) return Promise.resolve();
    if (isFinal(t.state)) return Promise.resolve();
    if (patch.state && !isFinal(patch.state) && ORDER.indexOf(patch.state) < ORDER.indexOf(t.state))
      delete patch.state;
    Object.assign(t, patch);
    this.changed.notify();
    return this.save();
  }

  /** Resolves with the task once final; throws timeout after `timeoutMs` (0 = no limit). */
  async waitFinal(id: string, timeoutMs: number): Promise<TaskEntry> {
    const end = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    for (;;) {
      const t = this.get(id);
      if (!t) throw new SmrError('unknown-task', `no task ${id}`);
      if (isFinal(t.state)) return { ...t };
      if (Date.now() >= end)
        throw new SmrError(
          'timeout',
          `task ${id} still ${t.state} after ${Math.round(timeoutMs / 1000)}s`,
        );
      await this.changed.wait(Math.min(1000, end - Date.now()));
    }
  }

  private save(): Promise<void> {
    const finished = this.tasks.filter((t) => isFinal(t.state));
    if (finished.length > KEEP_FINISHED) {
      const drop = new Set(finished.slice(0, finished.length - KEEP_FINISHED).map((t) => t.id));
      this.tasks = this.tasks.filter((t) => !drop.has(t.id));
    }
    this.saving = this.saving
      .then(() => writeJsonFile(this.file, this.tasks))
      .catch(() => undefined);
    return this.saving;
  }
}
