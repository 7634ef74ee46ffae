// Output a person can read: mirror progress with rate and time left on a terminal and nothing on
// a pipe, a closing summary of what a mirror changed, the bandwidth limit in status, verify --fix
// in the order things happened, and an orphans count that agrees with its list.
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SMR,
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/**
 * Runs smr under `script`, so its stdout is a terminal; resolves with what the terminal got.
 * CI is left out of the environment: ora (through is-interactive) draws no frames when it is set,
 * as a CI runner's log is no place for a spinner, and this test is about the terminal.
 */
function onTerminal(args: string[]): Promise<{ code: number; out: string }> {
  const { CI: _ci, ...env } = process.env;
  const cmd = [process.execPath, SMR, ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(' ');
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qefc', `stty cols 200 rows 40; ${cmd}`, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, COLUMNS: '200', TERM: 'xterm' },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('mirror --wait', () => {
  it('shows rate and time left on a terminal, under a bandwidth limit that status reports', async () => {
    const src = await tmp('smr-src-');
    for (let i = 0; i < 4; i++)
      await write(path.join(src, `big${i}.bin`), Buffer.alloc(768 * 1024, i + 1));
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src, ['--mirror', 'none']);
    const sd = ['--state-dir', s.stateDir];
    expect((await smr(['limit', 'web', '--bandwidth', '1MiB/s', ...sd])).code).toBe(0);
    const st = await smr(['status', 'web', '--json', ...sd]);
    expect(st.json.bandwidth).toBe(1024 * 1024);
    expect((await smr(['status', 'web', ...sd])).stdout).toMatch(/bandwidth limit 1\.0 MiB\/s/);

    // 3 MiB at 1 MiB/s: a few seconds, long enough for progress lines.
    const r = await onTerminal(['mirror', 'start', 'web', '--mode', 'full', '--wait', ...sd]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/web: mirroring \(full\).*files, .*\/s/);
    expect(r.out).toMatch(/ left/);
    expect(r.out).toMatch(/web: mirror complete \(full\) in \S+: 4 changed \(3\.0 MiB\)/);
    expect(
      (await smr(['limit', 'web', '--bandwidth', 'off', '--json', ...sd])).json.bandwidth,
    ).toBe(null);
  });

  it('prints no progress on a pipe, and a summary of what changed in text and JSON', async () => {
    const src = await tmp('smr-src-');
    await write(path.join(src, 'a.txt'), 'aaaa');
    await write(path.join(src, 'd/b.txt'), 'bb');
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src, ['--mirror', 'none']);
    const replica = path.join(t.root, 'web');
    await write(path.join(replica, 'orphan1.txt'), 'x');
    await write(path.join(replica, 'old/orphan2.txt'), 'y');
    const sd = ['--state-dir', s.stateDir];
    // The orphans are all the target holds: the brake keeps them unless --force.
    // The mirror sends what differs, then the verb exits 2 with the brake's one line.
    const kept = await smr(['mirror', 'start', 'web', '--wait', '--delete-orphans', ...sd]);
    expect(kept.code, kept.stdout + kept.stderr).toBe(2);
    expect(kept.stderr).toMatch(
      /^smr: web: orphans not deleted: deleting 3 of 3 target entries.*\n$/,
    );
    const st = await smr(['status', 'web', ...sd]);
    expect(st.stdout).toMatch(/3 changed \(6 B\), 3 orphan\(s\) kept/);
    // No spinner and no escape codes on a pipe.
    expect(kept.stdout + kept.stderr).not.toContain('\r');
    expect(kept.stdout + kept.stderr).not.toContain('\u001b[');
    const r = await smr(['mirror', 'start', 'web', '--wait', '--delete-orphans', '--force', ...sd]);
    expect(r.code, r.stderr).toBe(0);
    // orphan1.txt and old/ deleted (old/orphan2.txt with it).
    expect(r.stdout.split('\n')[0]).toMatch(
      /^web: mirror complete \(diff\) in \S+: .*2 orphan\(s\) deleted$/,
    );
    await write(path.join(src, 'c.txt'), 'ccc');
    await waitSynced(s, 'web');
    const j = await smr(['mirror', 'start', 'web', '--wait', '--json', ...sd]);
    expect(j.code).toBe(0);
    expect(j.json.summary).toEqual({
      files: 0,
      bytes: 0,
      deleted: 0,
      orphans: 0,
      seconds: expect.any(Number),
    });
    expect(j.json.mirror).toMatchObject({ state: 'complete', totalsKnown: true, percent: 100 });
  });
});

describe('verify --fix and orphans --delete', () => {
  it('verify shows entries and bytes against known totals on a terminal, nothing on a pipe', async () => {
    const src = await tmp('smr-src-');
    // Enough blocks to hash on both sides that the comparison outlasts a few status polls.
    for (let i = 0; i < 48; i++)
      await write(path.join(src, `d${i % 4}`, `f${i}.bin`), Buffer.alloc(4 * 1024 * 1024, i + 1));
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src);
    const sd = ['--state-dir', s.stateDir];
    await waitSynced(s, 'web');
    const r = await onTerminal(['verify', 'web', '--mode', 'checksum', ...sd]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(
      /web: verify \(checksum\): \d+\/52 entries, [\d.]+ MiB\/192\.0 MiB, \d+%/,
    );
    expect(r.out).toMatch(/web: source and target match \(checksum; compared 52 entries, 48 files/);
    const piped = await smr(['verify', 'web', ...sd]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(/\d+\/\d+ entries/); // no progress line on a pipe
    // Nothing runs now: status shows no verify.
    expect((await smr(['status', 'web', '--json', ...sd])).json.audit).toBeUndefined();
  });

  it('verify --fix lists what differed first, then what the fix left', async () => {
    const src = await tmp('smr-src-');
    for (const f of ['a.txt', 'b.txt', 'c.txt']) await write(path.join(src, f), f);
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src);
    await waitSynced(s, 'web');
    const replica = path.join(t.root, 'web');
    await fsp.rm(path.join(replica, 'a.txt'));
    await fsp.writeFile(path.join(replica, 'b.txt'), 'changed on the target!');
    const r = await smr(['verify', 'web', '--fix', '--state-dir', s.stateDir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    // b.txt differs in two attributes (size and mtime): 3 differences, 2 paths to fix.
    expect(lines[0]).toMatch(/^web: 3 difference\(s\) \(diff; /);
    expect(lines.slice(1, 4).join('\n')).toMatch(/missing on target +a\.txt\n.*b\.txt.*\n.*b\.txt/);
    expect(lines[4]).toBe('fixed 2 path(s): source and target now match');
    expect(lines).toHaveLength(5);
  });

  it('orphans --delete says how many it deleted, consistent with its list', async () => {
    const src = await tmp('smr-src-');
    await write(path.join(src, 'keep.txt'), 'k');
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, src);
    await waitSynced(s, 'web');
    const replica = path.join(t.root, 'web');
    await write(path.join(replica, 'gone/inner.txt'), 'x');
    await write(path.join(replica, 'stray.txt'), 'y');
    const sd = ['--state-dir', s.stateDir];
    const list = await smr(['orphans', 'web', ...sd]);
    expect(list.stdout.split('\n')[0]).toBe('web: 3 orphan(s) on the target:');
    const r = await smr(['orphans', 'web', '--delete', '--force', ...sd]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('web: deleted the 3 orphan(s) below from the target:');
    expect(lines.slice(1)).toHaveLength(3);
    expect((await fsp.readdir(replica)).sort()).toEqual(['keep.txt']);
  });
});
