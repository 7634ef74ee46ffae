// Human rendering of tasks: one aligned table row per task, and the exit code a task's end means.
import { formatDuration } from '../shared/units.js';
import type { TaskEntry } from '../source/task-table.js';
import { EXIT } from './exit-codes.js';
import { table } from './table.js';

/** A task as the daemon lists it: with its connection when several are listed. */
export type ListedTask = TaskEntry & { connection?: string };

/** Exit code for a finished task: 0 succeeded, 6 timed out, 5 failed or rejected. */
export function taskExitCode(t: TaskEntry): number {
  if (t.state === 'succeeded') return EXIT.ok;
  if (t.state === 'timed-out') return EXIT.timeout;
  return EXIT.taskFailed;
}

function row(t: ListedTask): string[] {
  const when = t.endedAt ?? t.startedAt ?? t.queuedAt;
  const took =
    t.durationMs === null || t.durationMs === undefined ? '' : formatDuration(t.durationMs);
  const command = [t.command, ...t.args].join(' ') + (t.message ? `  (${t.message})` : '');
  return [
    t.id,
    t.connection ?? '',
    t.on,
    t.state,
    t.exitCode === null ? '' : String(t.exitCode),
    when,
    took,
    command,
  ];
}

/** The tasks as an aligned table (the connection column only when it says something). */
export function tasksTable(tasks: ListedTask[]): string[] {
  const cols = [
    { title: 'id' },
    { title: 'connection' },
    { title: 'on' },
    { title: 'state' },
    { title: 'exit', numeric: true },
    { title: 'when' },
    { title: 'took', numeric: true },
    { title: 'command' },
  ];
  const rows = tasks.map(row);
  const withConn = tasks.some((t) => t.connection);
  const keep = cols.map((_, i) => i !== 1 || withConn);
  return table(
    cols.filter((_, i) => keep[i]),
    rows.map((r) => r.filter((_, i) => keep[i])),
  );
}

/** One finished task and the last lines it printed. */
export function taskReport(t: ListedTask): string[] {
  const tail = t.outputTail?.length ? t.outputTail.map((l) => `  | ${l}`) : [];
  return [...tasksTable([t]), ...tail];
}
