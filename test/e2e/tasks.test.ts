// queue-task: trigger points, holding apply, timeouts, rejection, restarts between queue and run.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  smr,
  startSource,
  startTarget,
  restartTarget,
  tmp,
  waitSynced,
  waitUntil,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

async function tasksDir(scripts: Record<string, string>): Promise<string> {
  const d = await tmp('smr-tasks-');
  for (const [name, body] of Object.entries(scripts)) {
    await fsp.writeFile(path.join(d, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return d;
}

// Records its environment and a listing+content snapshot of the replica at the moment it runs.
const RECORD = `out="$1"; { echo "conn=$SMR_CONNECTION id=$SMR_TASK_ID seq=$SMR_SEQ path=$SMR_TARGET_PATH"; for f in "$SMR_TARGET_PATH"/*; do echo "$(basename "$f")=$(cat "$f")"; done; } > "$out"`;

describe('queue-task', () => {
  it('runs an execute task after everything queued before it, with the contract environment', async () => {
    const out = await tmp('smr-out-');
    const td = await tasksDir({ 'record.sh': RECORD });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', td] });
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    for (let i = 0; i < 50; i++) await write(path.join(dir, `f${i % 5}`), `v${i}`);
    const r = await smr([
      'queue-task',
      'app',
      '--wait',
      '--json',
      '--state-dir',
      s.stateDir,
      '--',
      'record.sh',
      path.join(out, 'rec'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.state).toBe('succeeded');
    const rec = await fsp.readFile(path.join(out, 'rec'), 'utf8');
    expect(rec).toContain(
      `conn=app id=${r.json.id} seq=${r.json.seq} path=${path.join(t.root, 'app')}`,
    );
    for (let i = 0; i < 5; i++) expect(rec).toContain(`f${i}=v${45 + i}`);
    const list = await smr(['tasks', 'app', '--json', '--state-dir', s.stateDir]);
    expect(list.json.tasks[0]).toMatchObject({
      id: r.json.id,
      on: 'execute',
      command: 'record.sh',
      state: 'succeeded',
      exitCode: 0,
    });
    const st = await smr(['status', 'app', '--json', '--state-dir', s.stateDir]);
    expect(st.json.tasks.pending).toBe(0);
  });

  it('runs receive on arrival, queue and transmit on the source', async () => {
    const out = await tmp('smr-out-');
    const td = await tasksDir({ 'touch.sh': 'echo "$SMR_TASK_ID" > "$1"' });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', td] });
    const sstate = await tmp('smr-sstate-');
    await fsp.mkdir(path.join(sstate, 'tasks'));
    await fsp.copyFile(path.join(td, 'touch.sh'), path.join(sstate, 'tasks', 'touch.sh'));
    await fsp.chmod(path.join(sstate, 'tasks', 'touch.sh'), 0o755);
    const s = await startSource(sstate);
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    for (const on of ['receive', 'queue', 'transmit'] as const) {
      const r = await smr([
        'queue-task',
        'app',
        '--on',
        on,
        '--wait',
        '--json',
        '--state-dir',
        s.stateDir,
        '--',
        'touch.sh',
        path.join(out, on),
      ]);
      expect(r.code, `${on}: ${r.stdout} ${r.stderr}`).toBe(0);
      expect((await fsp.readFile(path.join(out, on), 'utf8')).trim()).toBe(r.json.id);
    }
  });

  it('holds applying while an execute task runs, and resumes after its timeout', async () => {
    const td = await tasksDir({ 'hang.sh': 'sleep 30' });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', td] });
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    const started = Date.now();
    const task = smr([
      'queue-task',
      'app',
      '--timeout',
      '8s',
      '--wait',
      '--json',
      '--state-dir',
      s.stateDir,
      '--',
      'hang.sh',
    ]);
    // Only once the task runs is its marker applied: a change made now comes after it.
    await waitUntil(
      async () =>
        (await smr(['tasks', 'app', '--json', '--state-dir', s.stateDir])).json?.tasks?.[0]
          ?.state === 'running',
      20_000,
      'the task to run',
    );
    await write(path.join(dir, 'after.txt'), 'written while the task holds applying');
    await new Promise((r) => setTimeout(r, 1000));
    // Held: the change after the task is not applied while the task runs.
    await expect(fsp.access(path.join(t.root, 'app', 'after.txt'))).rejects.toThrow();
    const r = await task;
    expect(r.code).toBe(6);
    expect(r.json.state).toBe('timed-out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(7000);
    await waitSynced(s, 'app');
    await expectSameTree(dir, path.join(t.root, 'app'));
  });

  it('rejects tasks on a target without --allow-tasks and names with a slash (exit 5), and replication goes on', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    const r1 = await smr([
      'queue-task',
      'app',
      '--wait',
      '--json',
      '--state-dir',
      s.stateDir,
      '--',
      'anything.sh',
    ]);
    expect(r1.code).toBe(5);
    expect(r1.json.state).toBe('rejected');
    expect(r1.json.message).toMatch(/allow-tasks/);
    const r2 = await smr([
      'queue-task',
      'app',
      '--wait',
      '--state-dir',
      s.stateDir,
      '--',
      '/bin/sh',
      '-c',
      'true',
    ]);
    expect(r2.code).toBe(5);
    const r3 = await smr([
      'queue-task',
      'app',
      '--wait',
      '--state-dir',
      s.stateDir,
      '--',
      '../x.sh',
    ]);
    expect(r3.code).toBe(5);
    await write(path.join(dir, 'still.txt'), 'replicating');
    await waitSynced(s, 'app');
    await expectSameTree(dir, path.join(t.root, 'app'));
  });

  it('runs a task queued before a restart of either daemon exactly once, at its point', async () => {
    const out = await tmp('smr-out-');
    const td = await tasksDir({ 'count.sh': 'echo run >> "$1"; ls "$SMR_TARGET_PATH" > "$1.ls"' });
    const tstate = await tmp('smr-tstate-');
    let t = await startTarget({ stateDir: tstate, extra: ['--allow-tasks', '--tasks-dir', td] });
    const sstate = await tmp('smr-sstate-');
    let s = await startSource(sstate);
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    // Hold transmission so the task waits in the queue, then restart both daemons.
    expect((await smr(['transmit', 'pause', 'app', '--state-dir', sstate])).code).toBe(0);
    await write(path.join(dir, 'before.txt'), 'before the task');
    const q = await smr([
      'queue-task',
      'app',
      '--json',
      '--state-dir',
      sstate,
      '--',
      'count.sh',
      path.join(out, 'runs'),
    ]);
    expect(q.code).toBe(0);
    await write(path.join(dir, 'after.txt'), 'after the task');
    await s.stop();
    await t.stop();
    t = await restartTarget(t, ['--allow-tasks', '--tasks-dir', td]);
    s = await startSource(sstate);
    expect((await smr(['transmit', 'resume', 'app', '--state-dir', sstate])).code).toBe(0);
    const w = await smr([
      'queue-task',
      'app',
      '--json',
      '--state-dir',
      sstate,
      '--',
      'count.sh',
      path.join(out, 'second'),
    ]);
    expect(w.code).toBe(0);
    await waitUntil(
      async () =>
        (await smr(['tasks', 'app', '--json', '--state-dir', sstate])).json.tasks.every(
          (x: { state: string }) => x.state === 'succeeded',
        ),
      30_000,
      'tasks to finish',
    );
    expect((await fsp.readFile(path.join(out, 'runs'), 'utf8')).trim()).toBe('run');
    const ls = (await fsp.readFile(path.join(out, 'runs.ls'), 'utf8')).split('\n');
    expect(ls).toContain('before.txt');
    expect(ls).not.toContain('after.txt');
    // Another target restart later must not run it again.
    await t.stop();
    t = await restartTarget(t, ['--allow-tasks', '--tasks-dir', td]);
    await write(path.join(dir, 'later.txt'), 'later');
    await waitSynced(s, 'app');
    expect((await fsp.readFile(path.join(out, 'runs'), 'utf8')).trim()).toBe('run');
  });
});
