// smr daemons and verbs as child processes for the chaos harness. Every incarnation of a daemon
// appends its --verbose output to one log file, behind a line saying when and why it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { repoRoot } from '../lib/repo-root.js';

/** The smr checkout this harness belongs to (found from here, compiled or not). */
export const REPO = repoRoot(import.meta.url);

/** bin/smr.js of the checkout (it runs dist/: build first); `--smr` may name another build. */
export const SMR_BIN = path.join(REPO, 'bin', 'smr.js');

/** What one smr verb did. */
export interface VerbResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `smr ...args` (of the build `bin`) to completion (SIGKILL after `timeoutMs`: code -1). */
export function runSmr(bin: string, args: string[], timeoutMs = 60_000): Promise<VerbResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** How long a daemon may take to print its ready line before it counts as hung. */
export const READY_TIMEOUT_MS = 60_000;

/** A daemon that started but never said it was ready (it is killed; its log says where it was). */
export class NotReadyError extends Error {}

/** One daemon (source or target) that can be killed and started again on the same state. */
export class DaemonProc {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly out: WriteStream;
  /** The first JSON line of the last start (the target's has its port). */
  ready: Record<string, unknown> = {};
  starts = 0;

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: () => string[],
    logFile: string,
  ) {
    this.out = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /**
   * Starts the daemon and resolves on its ready line; retries a few times when it exits early (a
   * port in TIME_WAIT), never when it hangs.
   */
  async start(why: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(why);
      } catch (err) {
        if (attempt >= 5 || err instanceof NotReadyError) throw err;
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  }

  private startOnce(why: string): Promise<void> {
    this.starts++;
    this.note(`start #${this.starts} (${why})`);
    const p = spawn(process.execPath, [this.bin, ...this.args(), '--verbose'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stderr?.pipe(this.out, { end: false });
    this.exited = new Promise((r) => p.once('exit', () => r()));
    return new Promise((resolve, reject) => {
      const rl = readline.createInterface({ input: p.stdout as NodeJS.ReadableStream });
      let first = true;
      const timer = setTimeout(() => {
        first = false;
        this.note(`not ready after ${READY_TIMEOUT_MS} ms: kill -9`);
        p.kill('SIGKILL');
        reject(
          new NotReadyError(
            `${this.name} was not ready ${READY_TIMEOUT_MS / 1000} s after its start (${why})`,
          ),
        );
      }, READY_TIMEOUT_MS);
      rl.on('line', (line) => {
        this.out.write(`[stdout] ${line}\n`);
        if (!first) return;
        first = false;
        clearTimeout(timer);
        try {
          this.ready = JSON.parse(line) as Record<string, unknown>;
          this.proc = p;
          resolve();
        } catch {
          reject(new Error(`${this.name}: first line is not JSON: ${line}`));
        }
      });
      p.once('exit', (code, sig) => {
        if (this.proc === p) this.proc = null;
        this.note(`exited (code ${code}, signal ${sig})`);
        if (first) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${code ?? sig}) before it was ready`));
        }
      });
    });
  }

  /** kill -9 and wait until it is gone. */
  async kill(why: string): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.note(`kill -9 (${why})`);
    p.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean stop), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Writes a harness line into the daemon's log (same clock format as smr's own lines). */
  note(text: string): void {
    this.out.write(`${new Date().toISOString()} chaos ===== ${this.name} ${text} =====\n`);
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((r) => this.out.end(() => r()));
  }
}
