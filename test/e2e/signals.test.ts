// SIGTERM/SIGINT at any moment of a daemon's start-up ends in a clean stop (exit 0), never in
// death by the signal: as soon as the lock is taken, while connections reopen, and right after
// the ready line (which used to kill the source with -15).
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SMR,
  cleanupAll,
  connect,
  newKey,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** True once `lockFile` holds `pid`: the daemon has loaded smr and taken its state dir's lock. */
async function locked(lockFile: string, pid: number): Promise<boolean> {
  const text = await fsp.readFile(lockFile, 'utf8').catch(() => '');
  return text.trim() === String(pid);
}

// Node itself catches SIGTERM natively from its first instruction (to reset the terminal and
// re-raise), so /proc's SigCgt cannot tell when smr's own handler is in place; the moments are
// instead taken from what start-up visibly does: the lock, then reopening connections, then ready.
type Moment = 'lock-taken' | 'lock+30ms' | 'lock+120ms' | 'after-ready';

/** Starts `smr ...args`, sends `sig` at `moment`, and returns how the process ended. */
async function stopAt(
  args: string[],
  lockFile: string,
  sig: NodeJS.Signals,
  moment: Moment,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const p = spawn(process.execPath, [SMR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    p.once('exit', (code, signal) => r({ code, signal })),
  );
  const ready = new Promise<void>((r) => p.stdout.once('data', () => r()));
  const deadline = Date.now() + 20_000;
  while (!(await locked(lockFile, p.pid!))) {
    if (Date.now() > deadline || p.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  if (moment === 'lock+30ms') await new Promise((r) => setTimeout(r, 30));
  if (moment === 'lock+120ms') await new Promise((r) => setTimeout(r, 120));
  if (moment === 'after-ready') await ready;
  p.kill(sig);
  return { ...(await ended), stderr };
}

const MOMENTS: Moment[] = ['lock-taken', 'lock+30ms', 'lock+120ms', 'after-ready'];

describe('signals during start-up', () => {
  it('a source with a recorded connection stops cleanly wherever SIGTERM or SIGINT lands', async () => {
    const t = await startTarget();
    const dir = await tmp('smr-src-');
    await fsp.writeFile(path.join(dir, 'a.txt'), 'hello');
    const src = await startSource();
    await connect(src, 'web', t, dir);
    await waitSynced(src, 'web');
    expect(await src.stop()).toBe(0);

    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      for (const moment of MOMENTS) {
        const r = await stopAt(
          ['source', 'start', '--state-dir', src.stateDir],
          path.join(src.stateDir, 'source.lock'),
          sig,
          moment,
        );
        expect({ sig, moment, code: r.code, signal: r.signal }, r.stderr).toEqual({
          sig,
          moment,
          code: 0,
          signal: null,
        });
      }
    }
    // Nothing was left half-done: the source starts again and still serves its connection.
    const again = await startSource(src.stateDir);
    const st = await smr(['status', 'web', '--json', '--state-dir', again.stateDir]);
    expect(st.code).toBe(0);
    expect(st.json.name).toBe('web');
  });

  it('a target stops cleanly wherever SIGTERM or SIGINT lands', async () => {
    const root = path.join(await tmp('smr-root-'), 'r');
    const state = await tmp('smr-tstate-');
    const key = await newKey();
    const args = ['target', 'start', '--listen', '127.0.0.1:0', '--root', root];
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      for (const moment of MOMENTS) {
        const r = await stopAt(
          [...args, '--key-file', key, '--state-dir', state],
          path.join(state, 'target.lock'),
          sig,
          moment,
        );
        expect({ sig, moment, code: r.code, signal: r.signal }, r.stderr).toEqual({
          sig,
          moment,
          code: 0,
          signal: null,
        });
      }
    }
  });
});
