// Running one task program without a shell, with a timeout that ends its whole process tree.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { execa, ResultPromise } from 'execa';
import { killOnParentExit, killProcessTree } from './kill-tree.js';
import { OutputTail } from './output-tail.js';

/** How long a timed-out task gets between SIGTERM and SIGKILL, unless told otherwise. */
export const DEFAULT_KILL_GRACE_MS = 5000;
/** How long to wait for output pipes to close after the program itself has exited. */
export const PIPE_DRAIN_MS = 2000;

/** What to run: an absolute program path (see resolveTaskProgram) and its arguments, verbatim. */
export interface RunTaskOptions {
  program: string;
  args?: readonly string[];
  /** Added to process.env (SMR_CONNECTION, SMR_TASK_ID, SMR_SEQ, SMR_TARGET_PATH, ...). */
  env?: Record<string, string>;
  /** Working directory; defaults to the program's folder. */
  cwd?: string;
  /** 0 = no timeout. */
  timeoutMs: number;
  /** SIGTERM-to-SIGKILL grace after a timeout. */
  killGraceMs?: number;
  /** Lines of output kept (stdout and stderr interleaved). */
  outputTailLines?: number;
}

/** How a task ended; `exitCode` is null when it did not exit by itself (signal, spawn failure). */
export interface TaskRunResult {
  state: 'succeeded' | 'failed' | 'timed-out';
  exitCode: number | null;
  durationMs: number;
  outputTail: string[];
  error?: string;
}

/** The fields of a finished run as the task tables record them (source and target alike). */
export function outcomeOf(res: TaskRunResult): {
  state: TaskRunResult['state'];
  exitCode: number | null;
  endedAt: string;
  durationMs: number;
  outputTail: string[];
  message: string | undefined;
} {
  return {
    state: res.state,
    exitCode: res.exitCode,
    endedAt: new Date().toISOString(),
    durationMs: Math.round(res.durationMs),
    outputTail: res.outputTail,
    message: res.error,
  };
}

/** Windows cannot run a .ps1 directly: run it through PowerShell, arguments still unparsed. */
function commandLine(program: string, args: readonly string[]): [string, string[]] {
  if (process.platform === 'win32' && path.extname(program).toLowerCase() === '.ps1') {
    const ps = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', program];
    return ['powershell.exe', [...ps, ...args]];
  }
  return [program, [...args]];
}

function spawnTask(run: typeof execa, opts: RunTaskOptions) {
  const [file, args] = commandLine(opts.program, opts.args ?? []);
  return run(file, args, {
    shell: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: opts.env ?? {},
    extendEnv: true,
    cwd: opts.cwd ?? path.dirname(opts.program),
    // Its own process group, so a timeout can end everything the task started.
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
}

/** Stops waiting for pipes a leftover background process still holds once the program has exited. */
function drainAfterExit(subprocess: ResultPromise): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onExit = (): void => {
    timer = setTimeout(() => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, PIPE_DRAIN_MS);
  };
  subprocess.once('exit', onExit);
  return () => {
    subprocess.off('exit', onExit);
    if (timer) clearTimeout(timer);
  };
}

function describeFailure(
  r: { exitCode?: number; signal?: string },
  why?: string,
): string | undefined {
  if (why) return why;
  if (r.exitCode !== undefined && r.exitCode !== 0) return `exited with code ${r.exitCode}`;
  if (r.signal) return `killed by signal ${r.signal}`;
  return undefined;
}

/** Arms the timeout: SIGTERM to the tree at `timeoutMs`, SIGKILL after the grace. */
function armTimeout(pid: number | undefined, opts: RunTaskOptions) {
  const timers: NodeJS.Timeout[] = [];
  let fired = false;
  if (opts.timeoutMs > 0 && pid !== undefined) {
    timers.push(
      setTimeout(() => {
        fired = true;
        void killProcessTree(pid, 'SIGTERM');
        const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
        timers.push(setTimeout(() => void killProcessTree(pid, 'SIGKILL'), grace));
      }, opts.timeoutMs),
    );
  }
  return {
    timedOut: () => fired,
    clear: () => timers.forEach((t) => clearTimeout(t)),
  };
}

/**
 * Runs a task program and reports how it ended. Never throws for a program that fails, cannot
 * start or times out; a timeout sends SIGTERM to its process tree, then SIGKILL after a grace.
 */
export async function runTask(opts: RunTaskOptions): Promise<TaskRunResult> {
  // Loaded with the first task, not with every daemon: execa was ~0.1 s of each start's CPU.
  const run = (await import('execa')).execa;
  const started = performance.now();
  const tail = new OutputTail(opts.outputTailLines ?? 20);
  const subprocess = spawnTask(run, opts);
  subprocess.stdout?.on('data', (chunk: Buffer) => tail.write('stdout', chunk));
  subprocess.stderr?.on('data', (chunk: Buffer) => tail.write('stderr', chunk));
  const pid = subprocess.pid;
  const timeout = armTimeout(pid, opts);
  const forget = pid === undefined ? () => undefined : killOnParentExit(pid);
  const stopDrain = drainAfterExit(subprocess);
  try {
    const r = await subprocess;
    if (timeout.timedOut() && pid !== undefined) await killProcessTree(pid, 'SIGKILL'); // stragglers
    const durationMs = Math.round(performance.now() - started);
    const exitCode = r.exitCode ?? null;
    const outputTail = tail.finish();
    if (timeout.timedOut()) {
      const error = `timed out after ${opts.timeoutMs} ms`;
      return { state: 'timed-out', exitCode, durationMs, outputTail, error };
    }
    const spawnError =
      r.failed && r.exitCode === undefined && !r.signal ? r.originalMessage : undefined;
    const error = describeFailure(r, spawnError);
    if (exitCode === 0 && error === undefined) {
      return { state: 'succeeded', exitCode, durationMs, outputTail };
    }
    return { state: 'failed', exitCode, durationMs, outputTail, error: error ?? 'failed' };
  } finally {
    timeout.clear();
    stopDrain();
    forget();
  }
}
