// `smr queue-task NAME ... -- COMMAND [ARG...]` and `smr tasks [NAME]`.
import { SmrError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/units.js';
import { source } from '../daemon-call.js';
import { progress } from '../output.js';
import { EXIT } from '../exit-codes.js';
import type { TaskEntry } from '../../source/task-table.js';
import type { Verb } from '../verb.js';

/** Exit code for a finished task: 0 succeeded, 6 timed out, 5 failed or rejected. */
export function taskExitCode(t: TaskEntry): number {
  if (t.state === 'succeeded') return EXIT.ok;
  if (t.state === 'timed-out') return EXIT.timeout;
  return EXIT.taskFailed;
}

function taskLine(t: TaskEntry & { connection?: string }): string {
  const when = t.endedAt ?? t.startedAt ?? t.queuedAt;
  const code = t.exitCode === null ? '' : ` exit ${t.exitCode}`;
  return `${t.id}  ${t.connection ? t.connection + '  ' : ''}${t.on.padEnd(8)} ${t.state.padEnd(9)}${code}  ${when}  ${[t.command, ...t.args].join(' ')}${t.message ? `  (${t.message})` : ''}`;
}

export const queueTaskVerb: Verb = {
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
      .option('timeout', {
        type: 'string',
        default: '10m',
        describe: 'task timeout; execute holds applying this long at most (0 = do not hold)',
      })
      .option('wait', {
        type: 'boolean',
        describe: "wait for the task's end and exit by its result",
      })
      .option('wait-timeout', {
        type: 'string',
        describe: 'with --wait: give up waiting after this long (exit 6)',
      }),
  async run(
    a: {
      name: string;
      on: TaskEntry['on'];
      timeout: string;
      wait?: boolean;
      waitTimeout?: string;
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
    const timeoutMs = parseDuration(a.timeout);
    const waitTimeoutMs = a.waitTimeout ? parseDuration(a.waitTimeout) : 0;
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
      const tail = t.outputTail?.length ? t.outputTail.map((l) => `  | ${l}`) : [];
      return { data: t, text: [taskLine(t), ...tail], exitCode: taskExitCode(t) };
    } finally {
      p?.stop();
    }
  },
};

export const tasksVerb: Verb = {
  command: 'tasks [name]',
  describe: 'List queued tasks and their results',
  builder: (y) => y.positional('name', { type: 'string' }),
  async run(a: { name?: string }, ctx) {
    const r = await source(ctx, 'tasks', a.name === undefined ? {} : { name: a.name });
    return { data: r, text: r.tasks.length ? r.tasks.map(taskLine) : 'no tasks' };
  },
};
