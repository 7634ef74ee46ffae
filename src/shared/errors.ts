// Typed errors: core code throws these; only src/cli decides exit codes from `code`.

/** Stable error codes; each maps to one contract exit code in src/cli/exit-codes.ts. */
export type ErrorCode =
  | 'usage'
  | 'config'
  | 'unknown-connection'
  | 'unknown-task'
  | 'unknown-job'
  | 'path-refused'
  | 'path-busy'
  | 'daemon-not-running'
  | 'daemon-running'
  | 'unreachable'
  | 'auth'
  | 'permission'
  | 'protocol'
  | 'version-mismatch'
  | 'frame-too-large'
  | 'verify-differences'
  | 'task-failed'
  | 'timeout'
  | 'journal-corrupt'
  | 'io'
  | 'internal';

/** The one base class for smr errors: a code, a one-line message, optional hint for what to do. */
export class SmrError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmrError';
    this.code = code;
    this.hint = hint;
  }
  /** JSON shape used on the control channel and in `--json` error output. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.hint ? `${this.message}; ${this.hint}` : this.message };
  }
}

/** Rebuilds an SmrError that crossed a process boundary as JSON. */
export function errorFromJSON(e: { code?: string; message?: string }): SmrError {
  return new SmrError((e.code ?? 'internal') as ErrorCode, e.message ?? 'unknown error');
}

/** Wraps anything thrown into an SmrError without losing the original as cause. */
export function asSmrError(err: unknown): SmrError {
  if (err instanceof SmrError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.syscall) {
    // The system refused us (not a fault of smr): the contract's "permission refused", exit 7.
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      const where = e.path ? ` ${e.path}` : '';
      return new SmrError(
        'permission',
        `permission denied: ${e.syscall}${where}`,
        'run smr as a user allowed to use that path, or change its owner or mode',
        { cause: err },
      );
    }
    return new SmrError(
      'io',
      `${e.syscall} ${e.path ?? ''}: ${e.code}`.replace('  ', ' '),
      undefined,
      {
        cause: err,
      },
    );
  }
  return new SmrError('internal', err instanceof Error ? err.message : String(err), undefined, {
    cause: err,
  });
}
