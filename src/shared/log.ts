// Daemon output: JSON events on stdout (the contract's machine-readable stream), human log lines
// on stderr. Core code logs through this module only; it never writes to the console itself.

type Level = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };
let threshold: Level = 'info';

/** Sets the lowest level written (--quiet => warn, --verbose => debug). */
export function setLogLevel(level: Level): void {
  threshold = level;
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] > ORDER[threshold]) return;
  const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
  process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${extra}\n`);
}

/** Human log lines on stderr. */
export const log = {
  /** Whether debug lines are written: hot paths check it before building one (--verbose). */
  get debugOn(): boolean {
    return ORDER[threshold] >= ORDER.debug;
  },
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
};

/**
 * Daemons keep running on an unexpected rejection (a bug: every known one is handled where it
 * happens), but say so loudly with the stack, so it is never silent.
 */
export function logUnhandledRejections(): void {
  process.on('unhandledRejection', (reason) => {
    const e = reason as Error;
    write('error', `BUG: unhandled rejection: ${e?.stack ?? String(reason)}`);
  });
}

/** One JSON event line on stdout (the first one a daemon prints is its ready event). */
export function emitEvent(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}
