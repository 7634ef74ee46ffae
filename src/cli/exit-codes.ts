// The one place exit codes are decided (CLI-CONTRACT.md, "Exit codes").
import type { ErrorCode } from '../shared/errors.js';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  differences: 4,
  taskFailed: 5,
  timeout: 6,
  auth: 7,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  usage: EXIT.usage,
  config: EXIT.usage,
  'unknown-connection': EXIT.usage,
  'unknown-task': EXIT.usage,
  'unknown-job': EXIT.usage,
  'path-refused': EXIT.usage,
  'path-busy': EXIT.usage,
  'daemon-running': EXIT.usage,
  'daemon-not-running': EXIT.unreachable,
  unreachable: EXIT.unreachable,
  'verify-differences': EXIT.differences,
  'task-failed': EXIT.taskFailed,
  timeout: EXIT.timeout,
  auth: EXIT.auth,
  permission: EXIT.auth,
  protocol: EXIT.failed,
  'version-mismatch': EXIT.failed,
  'frame-too-large': EXIT.failed,
  'journal-corrupt': EXIT.failed,
  io: EXIT.failed,
  internal: EXIT.failed,
};

/** Exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code] ?? EXIT.failed;
}
