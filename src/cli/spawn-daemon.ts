// Starts an smr daemon as a child process and waits for its first JSON line (ready/listening).
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { SmrError } from '../shared/errors.js';
import { SMR_BIN } from '../shared/self.js';

/** A running child daemon. */
export interface ChildDaemon {
  proc: ChildProcess;
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Spawns `smr ...args` and resolves with its first stdout JSON line. */
export function spawnDaemon(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildDaemon> {
  const proc = spawn(process.execPath, [SMR_BIN, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    rl.once('line', (line) => {
      try {
        const ready = JSON.parse(line) as Record<string, unknown>;
        resolve({
          proc,
          ready,
          stop: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      } catch {
        reject(new SmrError('internal', `daemon printed "${line}" instead of its ready event`));
      }
    });
    proc.once('exit', (code) =>
      reject(
        new SmrError(
          'internal',
          `smr ${args.slice(0, 2).join(' ')} exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`,
        ),
      ),
    );
  });
}
