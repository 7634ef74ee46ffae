// The README's walkthrough, run as written on a fresh scratch directory: a new user gets a running
// source/target pair, a quiesce snapshot and a verify from it without reading the source code.
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, SMR, cleanupAll, closedPort, onCleanup, tmp } from '../helpers/harness.js';

afterEach(cleanupAll);

/** The README's walkthrough block: the ```sh block after the walkthrough marker. */
function walkthrough(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('<!-- walkthrough');
  expect(from, 'README has a walkthrough block').toBeGreaterThan(0);
  const start = readme.indexOf('```sh\n', from) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('\n```', start)).split('\n');
}

describe('README walkthrough', () => {
  it('runs as written: a pair, replication, a quiesce snapshot and a verify', async () => {
    const work = await tmp('smr-readme-');
    const bin = path.join(work, 'bin');
    await fsp.mkdir(bin);
    // `smr` on PATH, as `npm link` would put it.
    await fsp.writeFile(
      path.join(bin, 'smr'),
      `#!/bin/sh\nexec "${process.execPath}" "${SMR}" "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const lines = walkthrough();
    expect(lines[0]).toMatch(/^D=\/tmp\/smr-try PORT=6320 /);
    // Only the scratch directory and the port are the test's own.
    lines[0] = `D=${path.join(work, 'try')} PORT=${await closedPort()}`;
    const child = spawn('bash', ['-euo', 'pipefail', '-c', lines.join('\n')], {
      cwd: work,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SMR_STATE_DIR: undefined },
    });
    // Whatever happens, the daemons it started in the background do not outlive the test.
    onCleanup(async () => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, out).toBe(0);
    expect(out).toMatch(/web synced/);
    expect(out).toMatch(/task \S+ succeeded/);
    expect(out).toMatch(/^\d{8}T\d{6}Z-t\S+$/m); // ls of the snapshots
    expect(out).toMatch(/web: source and target match \(checksum; compared \d+ entries, 2 files/);
    const snaps = await fsp.readdir(path.join(work, 'try', 'replica', 'web.snapshots'));
    expect(snaps).toHaveLength(1);
    expect(
      await fsp.readFile(
        path.join(work, 'try', 'replica', 'web.snapshots', snaps[0]!, 'hello.txt'),
        'utf8',
      ),
    ).toBe('hello\n');
  }, 120_000);
});
