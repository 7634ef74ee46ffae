// Runs a scheduled job: `smr <argv> --state-dir DIR` as a child process, output tail kept.
import { spawn } from 'node:child_process';
import { SMR_BIN } from '../shared/self.js';
import { MAX_RUN_OUTPUT_CHARS, type ScheduleJob } from './store.js';

/** Runs one job's verb against the daemon's own state dir. */
export function runVerb(
  stateDir: string,
  job: ScheduleJob,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [SMR_BIN, ...job.argv, '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer): void => {
      output = (output + d.toString()).slice(-MAX_RUN_OUTPUT_CHARS);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    p.on('error', (err) => resolve({ exitCode: 1, output: err.message }));
    p.on('close', (code) => resolve({ exitCode: code ?? 1, output: output.trim() }));
  });
}
