// Task markers on the target: run the named program from --tasks-dir (never a shell), hold
// applying while an `execute` task runs, report the outcome to the source, and keep a durable
// log so a task queued before a restart runs exactly once at its point.
import crypto from 'node:crypto';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { asSmrError } from '../shared/errors.js';
import { log, emitEvent } from '../shared/log.js';
import { readJsonFile, writeJsonFile } from '../shared/fsutil.js';
import { checkTasksDir, outcomeOf, resolveTaskProgram, runTask } from '../tasks/index.js';
import type { TaskMarker, TaskReport } from '../protocol/tasks.js';

const KEEP = 200;
const FINAL = new Set(['succeeded', 'failed', 'timed-out', 'rejected']);

/** Settings of the target daemon that concern tasks. */
export interface TaskSettings {
  stateDir: string;
  allowTasks: boolean;
  tasksDir: string | null;
  /** The target's --root: a tasks folder must stay outside it (sources write there). */
  replicaRoot: string;
}

/**
 * Per-replica durable log of task outcomes. One instance per file for the daemon's life: a
 * `receive` task of a session that has ended may still report while the next session of the same
 * replica runs, and two copies of the log would each overwrite what the other recorded.
 */
export class TaskLog {
  private static readonly opened = new Map<string, Promise<TaskLog>>();
  /** Writes happen one at a time, in the order the reports were made. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private entries: TaskReport[],
  ) {}

  static open(stateDir: string, targetPath: string): Promise<TaskLog> {
    const h = crypto.createHash('sha256').update(targetPath).digest('hex').slice(0, 24);
    const dir = path.join(stateDir, 'target-tasks');
    const file = path.join(dir, `${h}.json`);
    let log = TaskLog.opened.get(file);
    if (!log) {
      log = fsp
        .mkdir(dir, { recursive: true, mode: 0o700 })
        .then(async () => new TaskLog(file, await readJsonFile<TaskReport[]>(file, [])));
      TaskLog.opened.set(file, log);
      log.catch(() => TaskLog.opened.delete(file)); // a failed open is tried again next time
    }
    return log;
  }

  get(id: string): TaskReport | undefined {
    return this.entries.find((e) => e.id === id);
  }

  all(): TaskReport[] {
    return [...this.entries];
  }

  /** Records (durably) a report, replacing an older one for the same task. */
  put(r: TaskReport): Promise<void> {
    this.entries = [...this.entries.filter((e) => e.id !== r.id), r].slice(-KEEP);
    const snapshot = this.entries;
    const write = this.writes.then(() => writeJsonFile(this.file, snapshot));
    this.writes = write.catch(() => undefined);
    return write;
  }
}

/** Runs one task marker; resolves when applying may go on (after the task for a held execute). */
export async function runTaskMarker(
  m: TaskMarker,
  ctx: { settings: TaskSettings; log: TaskLog; connection: string; base: string; seq: number },
  report: (r: TaskReport) => void,
): Promise<void> {
  const known = ctx.log.get(m.id);
  if (known && (FINAL.has(known.state) || known.state === 'running')) {
    // Already run (or cut short by a restart): never run twice; report what is known.
    const r: TaskReport =
      known.state === 'running'
        ? {
            ...known,
            state: 'failed',
            endedAt: new Date().toISOString(),
            message: 'the target restarted while this task ran',
          }
        : known;
    if (r !== known) await ctx.log.put(r);
    report(r);
    return;
  }
  const base: TaskReport = {
    type: 'task',
    id: m.id,
    state: 'received',
    exitCode: null,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    outputTail: [],
  };
  const finish = async (r: TaskReport): Promise<void> => {
    await ctx.log.put(r);
    report(r);
    emitEvent({
      event: 'task',
      connection: ctx.connection,
      id: r.id,
      state: r.state,
      exitCode: r.exitCode,
    });
    log.info(
      `${ctx.connection}: task ${m.id} (${m.command}) ${r.state}${r.exitCode !== null ? ` exit ${r.exitCode}` : ''}${r.message ? `: ${r.message}` : ''}`,
    );
  };
  if (!ctx.settings.allowTasks || !ctx.settings.tasksDir) {
    return finish({
      ...base,
      state: 'rejected',
      endedAt: new Date().toISOString(),
      message: 'this target does not run tasks (start it with --allow-tasks --tasks-dir DIR)',
    });
  }
  let program: string;
  try {
    // Checked again at each run: the folder may have been opened up since the daemon started.
    await checkTasksDir(ctx.settings.tasksDir, [ctx.settings.replicaRoot]);
    program = await resolveTaskProgram(ctx.settings.tasksDir, m.command);
  } catch (err) {
    return finish({
      ...base,
      state: 'rejected',
      endedAt: new Date().toISOString(),
      message: asSmrError(err).message,
    });
  }
  const running: TaskReport = { ...base, state: 'running', startedAt: new Date().toISOString() };
  await ctx.log.put(running);
  report(running);
  const run = runTask({
    program,
    args: m.args,
    cwd: ctx.base,
    timeoutMs: m.timeoutMs,
    env: {
      SMR_CONNECTION: ctx.connection,
      SMR_TASK_ID: m.id,
      SMR_SEQ: String(ctx.seq),
      SMR_TARGET_PATH: ctx.base,
    },
  }).then((res) => finish({ ...running, ...outcomeOf(res) }));
  // `execute` with a timeout holds applying until the task ends; timeout 0 means do not hold.
  if (m.on === 'execute' && m.timeoutMs > 0) await run;
  else void run.catch((err) => log.error(`task ${m.id}: ${(err as Error).message}`));
}
