// The daemons' stop request, caught from the first instant of the process. A SIGTERM that lands
// while a daemon is still starting (loading modules, taking its lock, reopening connections, or
// between its ready line and its wait) used to find no handler and kill the process by the signal;
// here it is latched instead, and the daemon stops cleanly (exit 0) as soon as start-up reaches
// its wait. This module has no imports so that bin/smr.js can install it before the rest of smr
// is even loaded.

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** Global options that take a value as the next word (so it is not read as the verb). */
const VALUE_OPTIONS = new Set(['--state-dir', '--config']);

let requested: string | null = null;
let installed = false;
const waiters: Array<() => void> = [];

function onSignal(sig: string): void {
  if (requested !== null) {
    // A stop is already under way: it finishes the operation in hand, as the contract says.
    process.stderr.write(`smr: ${sig} again; still stopping cleanly\n`);
    return;
  }
  requested = sig;
  for (const w of waiters.splice(0)) w();
}

/** True when argv (without node and script) starts a daemon: `source start` or `target start`. */
export function isDaemonStart(argv: readonly string[]): boolean {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return (words[0] === 'source' || words[0] === 'target') && words[1] === 'start';
}

/** Catches SIGINT/SIGTERM from now on (idempotent). Other verbs keep the default: a signal ends them. */
export function installStopLatch(): void {
  if (installed) return;
  installed = true;
  for (const s of STOP_SIGNALS) process.on(s, () => onSignal(s));
}

/** The signal that asked for a stop, or null. */
export function stopRequested(): string | null {
  return requested;
}

/** Resolves once a stop was requested (at once if it already was), or when `signal` aborts. */
export function waitForStop(signal?: AbortSignal): Promise<void> {
  installStopLatch();
  if (requested !== null || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    waiters.push(resolve);
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Who hears a daemon's lifecycle (systemd's Type=notify, src/cli/sd-notify.ts). */
export interface DaemonLifecycle {
  /** The daemon serves: its listener or control socket is up. */
  ready(): void;
  /** A stop signal arrived; the daemon finishes what it is doing and exits. */
  stopping(): void;
}
