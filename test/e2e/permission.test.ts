// A refusal by the system (EACCES/EPERM) is the contract's "permission refused": exit 7 with one
// line naming the path, never exit 1 with a bare errno. Run as a second local user (nobody).
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SMR, cleanupAll, tmp } from '../helpers/harness.js';

afterEach(cleanupAll);

const NOBODY = 65534;

/** Runs `smr ...args` as uid/gid 65534 with a home of its own; resolves to code and stderr. */
function asNobody(args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, SMR, ...args],
      { cwd: home, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('permission refused', () => {
  it('exits 7 with the path when the system refuses a file, a state dir or a replica root', async () => {
    const home = await tmp('smr-home-');
    await fsp.chmod(home, 0o777);
    const closed = await tmp('smr-rootonly-');
    await fsp.chmod(closed, 0o700);
    const shared = await tmp('smr-rootstate-');
    await fsp.chmod(shared, 0o755);

    const key = await asNobody(['key', 'generate', '--out', path.join(closed, 'k')], home);
    expect(key.code, key.stderr).toBe(7);
    expect(key.stderr).toContain(path.join(closed, 'k'));

    const src = await asNobody(['source', 'start', '--state-dir', shared], home);
    expect(src.code, src.stderr).toBe(7);
    expect(src.stderr).toMatch(/permission denied/);

    const tgt = await asNobody(
      ['target', 'start', '--listen', '127.0.0.1:0', '--no-auth', '--root', path.join(closed, 'r')],
      home,
    );
    expect(tgt.code, tgt.stderr).toBe(7);
    expect(tgt.stderr).toContain(path.join(closed, 'r'));
    for (const r of [key, src, tgt]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
