// A connection's tasks: queue-task's barrier and marker, source-side runs (`queue`, `transmit`),
// and the outcomes the target reports back.
import { log } from '../shared/log.js';
import { outcomeOf, resolveTaskProgram, runTask, validateTaskCommand } from '../tasks/index.js';
import type { Journal, JournalRecord } from '../journal/journal.js';
import type { Capture } from './capture.js';
import { newTaskId, TaskTable, type TaskEntry } from './task-table.js';
import type { TaskReport } from '../protocol/tasks.js';
import type { QueuedOp } from './queued-op.js';

/** What the task logic needs from its connection. */
export interface TaskHost {
  name: string;
  sourcePath: string;
  tasksDir: string;
  journal: Journal;
  capture: Capture;
  /**
   * Every change made before the call is in the queue; then `inLine` runs as a pipeline step (in
   * crash mode just before the marker of the group the barrier cuts, so a task marker it queues
   * is reached by the target exactly at that group's end).
   */
  barrier(inLine?: () => Promise<void>): Promise<void>;
}

/** Tasks of one connection. */
export class ConnectionTasks {
  private constructor(
    private readonly host: TaskHost,
    private readonly tasks: TaskTable,
  ) {}

  static async open(dir: string, host: TaskHost): Promise<ConnectionTasks> {
    return new ConnectionTasks(host, await TaskTable.open(dir));
  }

  get pending(): number {
    return this.tasks.pending;
  }

  /** The link sent a task marker. */
  sent(rec: JournalRecord): void {
    void this.tasks.update(String(rec.meta.id), { state: 'sent' });
  }

  /** `queue-task`: barrier, then the task marker in line with the data (or a run here). */
  async queueTask(req: {
    on: TaskEntry['on'];
    command: string;
    args: string[];
    timeoutMs: number;
  }): Promise<TaskEntry> {
    const entry: TaskEntry = {
      id: newTaskId(),
      on: req.on,
      command: req.command,
      args: req.args,
      timeoutMs: req.timeoutMs,
      seq: null,
      state: 'queued',
      exitCode: null,
      queuedAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      durationMs: null,
      outputTail: [],
    };
    try {
      validateTaskCommand(req.command);
    } catch (err) {
      // Recorded, not thrown: a rejected task is a task result (exit 5 with --wait).
      await this.tasks.add({
        ...entry,
        state: 'rejected',
        endedAt: entry.queuedAt,
        message: (err as Error).message,
      });
      return this.tasks.get(entry.id) as TaskEntry;
    }
    if (req.on === 'queue') {
      await this.host.barrier(async () => {
        await this.tasks.add(entry);
      });
      this.runLocalTask(entry.id).catch((err: Error) =>
        log.error(`task ${entry.id}: ${err.message}`),
      );
      return entry;
    }
    await this.host.barrier(async () => {
      // Recorded before the marker is queued: the target's report may come back before append returns.
      await this.tasks.add(entry);
      const marker: QueuedOp = {
        kind: 'task',
        meta: {
          id: entry.id,
          on: req.on,
          command: req.command,
          args: req.args,
          timeoutMs: req.timeoutMs,
        },
      };
      const rec = await this.host.capture.ledger.emit(marker);
      entry.seq = rec.seq;
      await this.tasks.setSeq(entry.id, rec.seq);
    });
    log.info(
      `${this.host.name}: task ${entry.id} (${req.command}, on ${req.on}) queued at seq ${entry.seq}`,
    );
    return entry;
  }

  /** `tasks`: this connection's tasks, oldest first. */
  listTasks(): TaskEntry[] {
    return this.tasks.list();
  }

  /** Waits for a task's end (`queue-task --wait`). */
  waitTask(id: string, timeoutMs: number): Promise<TaskEntry> {
    return this.tasks.waitFinal(id, timeoutMs);
  }

  /** A report from the target (EVENT frames). */
  onTargetEvent(r: TaskReport): void {
    const { id, state, exitCode, startedAt, endedAt, durationMs, outputTail, message } = r;
    void this.tasks.update(id, {
      state,
      exitCode,
      startedAt,
      endedAt,
      durationMs,
      outputTail,
      message,
    });
  }

  /** Runs a `transmit` task just before its marker is sent. */
  async beforeSend(rec: JournalRecord): Promise<void> {
    const t = this.tasks.get(String(rec.meta.id));
    if (t && t.on === 'transmit' && t.state === 'queued') await this.runLocalTask(t.id);
  }

  /** Runs a `queue` or `transmit` task on the source, from the source's tasks dir. */
  private async runLocalTask(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t) return;
    let program: string;
    try {
      program = await resolveTaskProgram(this.host.tasksDir, t.command);
    } catch (err) {
      await this.tasks.update(id, {
        state: 'rejected',
        endedAt: new Date().toISOString(),
        message: (err as Error).message,
      });
      return;
    }
    const startedAt = new Date().toISOString();
    await this.tasks.update(id, { state: 'running', startedAt });
    const res = await runTask({
      program,
      args: t.args,
      cwd: this.host.sourcePath,
      timeoutMs: t.timeoutMs,
      env: {
        SMR_CONNECTION: this.host.name,
        SMR_TASK_ID: id,
        SMR_SEQ: String(t.seq ?? this.host.journal.lastSeq),
        SMR_SOURCE_PATH: this.host.sourcePath,
      },
    });
    await this.tasks.update(id, outcomeOf(res));
    log.info(`${this.host.name}: source task ${id} (${t.command}) ${res.state}`);
  }
}
