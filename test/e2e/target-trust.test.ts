// A target that a keyed source cannot turn against its host: no task program a source could
// have written (tasks folder inside the replica root, or writable by others), and no setuid file
// that others could rewrite.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  newKey,
  smr,
  startSource,
  startTarget,
  restartTarget,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

async function tasksFolder(): Promise<string> {
  const d = await tmp('smr-tasks-');
  await fsp.writeFile(path.join(d, 'ok.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return d;
}

/** `smr target start` that is expected to refuse: its exit code and its one stderr line. */
async function refusedStart(root: string, extra: string[]) {
  const r = await smr([
    'target',
    'start',
    '--listen',
    '127.0.0.1:0',
    '--root',
    root,
    '--key-file',
    await newKey(),
    '--state-dir',
    await tmp('smr-tstate-'),
    ...extra,
  ]);
  return { code: r.code, lines: r.stderr.trim().split('\n'), stderr: r.stderr };
}

describe('target tasks folder', () => {
  it('refuses a tasks folder inside the replica root, one writable by others, or none at all', async () => {
    const root = path.join(await tmp('smr-root-'), 'r');
    const inside = path.join(root, 'app', 'bin');
    await fsp.mkdir(inside, { recursive: true });
    const a = await refusedStart(root, ['--allow-tasks', '--tasks-dir', inside]);
    expect(a.code, a.stderr).toBe(2);
    expect(a.lines).toHaveLength(1);
    expect(a.stderr).toMatch(/overlaps the replica root/);

    const open = await tasksFolder();
    await fsp.chmod(open, 0o777);
    const b = await refusedStart(root, ['--allow-tasks', '--tasks-dir', open]);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/writable by group or others/);

    const c = await refusedStart(root, ['--allow-tasks']);
    expect(c.code, c.stderr).toBe(2);
    expect(c.stderr).toMatch(/--allow-tasks needs --tasks-dir/);
  });

  it('checks the folder again at each start and each task, and refuses a program others can write', async () => {
    const td = await tasksFolder();
    let t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', td] });
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    const queue = (cmd: string) =>
      smr(['queue-task', 'app', '--wait', '--json', '--state-dir', s.stateDir, '--', cmd]);

    expect((await queue('ok.sh')).code).toBe(0);
    await fsp.writeFile(path.join(td, 'loose.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o775 });
    await fsp.chmod(path.join(td, 'loose.sh'), 0o775);
    const loose = await queue('loose.sh');
    expect(loose.code).toBe(5);
    expect(loose.json.message).toMatch(/writable by group or others/);
    await fsp.chmod(path.join(td, 'loose.sh'), 0o755);
    await fsp.chown(path.join(td, 'loose.sh'), 65534, 65534);
    const foreign = await queue('loose.sh');
    expect(foreign.code).toBe(5);
    expect(foreign.json.message).toMatch(/owned by uid 65534/);

    // Opened up while the daemon runs: the next task is refused, and so is the next start.
    await fsp.chmod(td, 0o777);
    const opened = await queue('ok.sh');
    expect(opened.code).toBe(5);
    expect(opened.json.message).toMatch(/writable by group or others/);
    await t.stop();
    const again = await refusedStart(t.root, ['--allow-tasks', '--tasks-dir', td]);
    expect(again.code, again.stderr).toBe(2);
    await fsp.chmod(td, 0o755);
    t = await restartTarget(t, ['--allow-tasks', '--tasks-dir', td]);
    await waitSynced(s, 'app');
    expect((await queue('ok.sh')).code).toBe(0);
  });
});

describe('setuid and setgid on the target', () => {
  async function replicate(extra: string[]) {
    const t = await startTarget({ extra });
    const s = await startSource();
    const dir = await tmp('smr-src-');
    for (const [name, mode] of [
      ['open', 0o6777],
      ['tight', 0o4755],
      ['plain', 0o0755],
    ] as const) {
      await write(path.join(dir, name), name);
      await fsp.chmod(path.join(dir, name), mode);
    }
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    const mode = async (n: string) => (await fsp.stat(path.join(t.root, 'app', n))).mode & 0o7777;
    return { open: await mode('open'), tight: await mode('tight'), plain: await mode('plain'), t };
  }

  it('never makes a setuid/setgid file that group or others can write, and says so', async () => {
    const r = await replicate([]);
    expect(r.open.toString(8)).toBe('777');
    expect(r.tight.toString(8)).toBe('4755');
    expect(r.plain.toString(8)).toBe('755');
    expect(r.t.log()).toMatch(/open: setuid\/setgid removed from mode 6777/);
  });

  it('strips setuid/setgid altogether with --no-suid', async () => {
    const r = await replicate(['--no-suid']);
    expect(r.open.toString(8)).toBe('777');
    expect(r.tight.toString(8)).toBe('755');
    expect(r.t.log()).toMatch(
      /tight: setuid\/setgid removed from mode 4755 \(the target runs with --no-suid\)/,
    );
  });
});
