// The target daemons under fuzz: started from the build under test, watched for exits (a crash),
// their memory sampled from /proc, their log kept in a file (and its tail in memory).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import readline from 'node:readline';

/** How a target is started. */
export interface TargetSpec {
  name: string;
  bin: string;
  root: string;
  stateDir: string;
  keyFile: string;
  tasksDir: string;
  tls: boolean;
  logFile: string;
  port?: number;
}

/** Resident memory of a process in KiB: VmRSS now, or VmHWM (the peak). */
export function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** One running target daemon. */
export class FuzzTarget {
  port = 0;
  /** Exits seen while the harness expected it to run (each one is a crash). */
  crashes: string[] = [];
  peakRssKiB = 0;
  private proc: ChildProcess | null = null;
  private tail: string[] = [];
  private sampler: NodeJS.Timeout | null = null;
  private stopping = false;
  private exited: Promise<number | null> = Promise.resolve(null);
  private readonly out;

  constructor(readonly spec: TargetSpec) {
    this.out = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  get alive(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last lines the daemon logged. */
  logTail(n = 30): string {
    return this.tail.slice(-n).join('\n');
  }

  /** Starts it (again on the same port after a crash) and waits for its listening line. */
  async start(): Promise<void> {
    const s = this.spec;
    const args = [s.bin, 'target', 'start', '--listen', `127.0.0.1:${this.port || s.port || 0}`];
    args.push('--root', s.root, '--state-dir', s.stateDir, '--key-file', s.keyFile);
    args.push('--allow-tasks', '--tasks-dir', s.tasksDir);
    if (!s.tls) args.push('--insecure-no-tls');
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    this.stopping = false;
    const keep = (line: string): void => {
      this.out.write(line + '\n');
      this.tail.push(line);
      if (this.tail.length > 200) this.tail.splice(0, 100);
    };
    readline.createInterface({ input: p.stderr }).on('line', keep);
    const rl = readline.createInterface({ input: p.stdout });
    this.exited = new Promise((r) =>
      p.once('exit', (code, sig) => {
        keep(`[harness] exited: code ${code}, signal ${sig}`);
        if (!this.stopping) this.crashes.push(`exit ${code ?? sig}: ${this.logTail(8)}`);
        r(code);
      }),
    );
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      rl.once('line', (line) => {
        keep(line);
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`${s.name}: first line is not JSON: ${line}`));
        }
        rl.on('line', keep);
      });
      void this.exited.then(() =>
        reject(new Error(`${s.name} exited at start: ${this.logTail()}`)),
      );
    });
    this.port = Number(ready.port);
    this.sampler ??= setInterval(() => this.sample(), 200);
  }

  /** Samples memory now (also called by the harness at its checkpoints). */
  sample(): number {
    const kib = this.alive ? rssKiB(this.pid) : 0;
    this.peakRssKiB = Math.max(this.peakRssKiB, kib, this.alive ? rssKiB(this.pid, 'VmHWM') : 0);
    return kib;
  }

  /** SIGTERM; resolves with the exit code, or null when it did not stop within `ms` (killed). */
  async stop(ms = 60_000): Promise<number | null> {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    if (!this.alive) return null;
    this.sample();
    this.stopping = true;
    this.proc?.kill('SIGTERM');
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref());
    const code = await Promise.race([this.exited, timer]);
    if (code === 'late') {
      this.proc?.kill('SIGKILL');
      await this.exited;
      return null;
    }
    return code;
  }

  /** Kills it without asking (cleanup after a failure). */
  async kill(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    this.stopping = true;
    if (this.alive) this.proc?.kill('SIGKILL');
    await this.exited;
    this.out.end();
  }
}
