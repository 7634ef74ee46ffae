// Tasks on the wire: the marker a `task` op carries, and the report the target sends back in an
// EVENT frame (docs/PROTOCOL.md, "Tasks").
import { int, list, nullable, obj, oneOf, text, type Check } from './check.js';

/** Where and when a task runs. */
export type TaskOn = 'execute' | 'receive' | 'transmit' | 'queue';

/** A task as it travels in the stream (the `task` op's meta). */
export type TaskMarker = {
  id: string;
  on: TaskOn;
  command: string;
  args: string[];
  timeoutMs: number;
};

/** The states a target reports. */
export type TaskReportState =
  'received' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'rejected';

/** A task's outcome as the target reports it (EVENT frames of type "task"). */
export type TaskReport = {
  type: 'task';
  id: string;
  state: TaskReportState;
  exitCode: number | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  outputTail: string[];
  message?: string;
};

// Generous bounds: a marker is written by the source's own queue-task, a report by the target.
const ID = text(128);
const ARGS = 1024;
const TAIL_LINES = 1000;

/** Checks a task marker. */
export const taskMarker: Check<TaskMarker> = obj({
  id: ID,
  on: oneOf('execute', 'receive', 'transmit', 'queue'),
  command: text(4096),
  args: list(text(), ARGS),
  timeoutMs: int(),
});

/** Checks a task report. */
export const taskReport: Check<TaskReport> = obj(
  {
    type: oneOf('task'),
    id: ID,
    state: oneOf('received', 'running', 'succeeded', 'failed', 'timed-out', 'rejected'),
    exitCode: nullable(int(-(2 ** 31), 2 ** 31)),
    startedAt: nullable(text(64)),
    endedAt: nullable(text(64)),
    durationMs: nullable(int()),
    outputTail: list(text(), TAIL_LINES),
  },
  { message: text() },
);
