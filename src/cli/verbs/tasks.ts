// `smr queue-task NAME ... -- COMMAND [ARG...]`, `smr tasks [NAME]` and `smr tasks wait ID`.
import { SmrError } from '../../shared/errors.js';
import { durationFlag } from '../options.js';
import { source } from '../daemon-call.js';
import { progress } from '../output.js';
import { taskExitCode, taskReport, tasksTable, type ListedTask } from '../render-tasks.js';
import type { TaskEntry } from '../../source/task-table.js';
import { byName, type Ctx, type Verb, type VerbResult } from '../verb.js';

export const queueTaskVerb: Verb = {
  connectionOf: byName,
  command: 'queue-task <name>',
  describe: 'Insert a task in line with the replication data (-- COMMAND [ARG...])',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('on', {
        choices: ['execute', 'receive', 'queue', 'transmit'] as const,
        default: 'execute',
        describe: 'where and when it runs',
      })
      .option(
        'timeout',
        durationFlag(
          'timeout',
          'task timeout; execute holds applying this long at most (0 = do not hold)',
          '10m',
        ),
      )
      .option('wait', {
        type: 'boolean',
        describe: "wait for the task's end and exit by its result",
      })
      .option(
        'wait-timeout',
        durationFlag('wait-timeout', 'with --wait: give up waiting after this long (exit 6)'),
      ),
  async run(
    a: {
      name: string;
      on: TaskEntry['on'];
      timeout: number;
      wait?: boolean;
      waitTimeout?: number;
      '--'?: Array<string | number>;
    },
    ctx,
  ) {
    const cmd = (a['--'] ?? []).map(String);
    if (!cmd.length)
      throw new SmrError(
        'usage',
        'queue-task needs a command after --',
        'e.g. smr queue-task web -- snapshot-copy.sh --keep 7',
      );
    const timeoutMs = a.timeout;
    const waitTimeoutMs = a.waitTimeout ?? 0;
    const p = a.wait ? progress(ctx, `task queued on ${a.name}, waiting for it to run`) : null;
    try {
      const t = await source(ctx, 'queue-task', {
        name: a.name,
        on: a.on,
        command: cmd[0] ?? '',
        args: cmd.slice(1),
        timeoutMs,
        wait: a.wait,
        waitTimeoutMs,
      });
      if (!a.wait) return { data: t, text: t.id, essential: true };
      return { data: t, text: taskReport(t), exitCode: taskExitCode(t) };
    } finally {
      p?.stop();
    }
  },
};

/** `tasks wait ID`: the task's end, found on whichever connection queued it. */
async function waitTask(ctx: Ctx, id: string, timeoutMs: number): Promise<VerbResult> {
  const all = await source(ctx, 'tasks', {});
  const t = all.tasks.find((x) => x.id === id);
  if (!t?.connection)
    throw new SmrError(
      'unknown-task',
      `no task ${id}`,
      'see smr tasks for the tasks this source has',
    );
  const p = progress(ctx, `waiting for task ${id} on ${t.connection} (${t.state})`);
  try {
    const r = await source(ctx, 'task-wait', { name: t.connection, id, timeoutMs });
    const done: ListedTask = { connection: t.connection, ...r };
    return { data: done, text: taskReport(done), exitCode: taskExitCode(done) };
  } finally {
    p.stop();
  }
}

export const tasksVerb: Verb = {
  // `tasks wait ID` names a task, not a connection called "wait".
  connectionOf: (a) => (a.name === 'wait' ? undefined : a.name),
  command: 'tasks [name] [id]',
  describe: "List queued tasks and their results, or wait for one's end (tasks wait ID)",
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'connection, or "wait"' })
      .positional('id', { type: 'string', describe: 'with wait: the task id queue-task printed' })
      .option(
        'timeout',
        durationFlag('timeout', 'with wait: give up after this long (exit 6); 0 = no limit'),
      )
      .example('smr tasks web', "list web's tasks")
      .example('smr tasks wait t1abc --timeout 10m', "exit by the task's result: 0, 5 or 6"),
  async run(a: { name?: string; id?: string; timeout?: number }, ctx) {
    if (a.name === 'wait') {
      if (!a.id)
        throw new SmrError('usage', 'tasks wait needs a task ID', 'e.g. smr tasks wait t1abc');
      return waitTask(ctx, a.id, a.timeout ?? 0);
    }
    if (a.id !== undefined)
      throw new SmrError(
        'usage',
        `unexpected argument "${a.id}"`,
        'use smr tasks [NAME] or smr tasks wait ID',
      );
    const r = (await source(ctx, 'tasks', a.name === undefined ? {} : { name: a.name })) as {
      tasks: ListedTask[];
    };
    return { data: r, text: r.tasks.length ? tasksTable(r.tasks) : 'no tasks' };
  },
};
