// Task programs on the target: which may run (command.ts) and running them (run.ts).
export {
  MAX_TASK_COMMAND_BYTES,
  WINDOWS_TASK_EXTENSIONS,
  resolveTaskProgram,
  validateTaskCommand,
} from './command.js';
export { checkTasksDir, untrustedReason } from './trust.js';
export { MAX_TAIL_LINE_CHARS, OutputTail } from './output-tail.js';
export {
  DEFAULT_KILL_GRACE_MS,
  PIPE_DRAIN_MS,
  outcomeOf,
  runTask,
  type RunTaskOptions,
  type TaskRunResult,
} from './run.js';
