// The scripting guide's promise, proven with the shipped templates: stop the application, queue
// the snapshot task, restart the application — the snapshot equals the source at the stop.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ROOT,
  SMR,
  cleanupAll,
  onCleanup,
  connect,
  expectSameTree,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  waitUntil,
} from '../helpers/harness.js';
import { sized } from '../helpers/scale.js';

afterEach(cleanupAll);

/**
 * Snapshot rounds (test/helpers/scale.ts): npm test's, then test:long's. Six still alternate the
 * two restart points three times each, at six different pauses.
 */
const ROUNDS = sized(6, 20);

// An application writing continuously across several files: overwrites, appends, new files,
// deletes and renames, in a pattern that depends on its counter.
const APP = `
const fs = require('fs'), path = require('path');
const dir = process.argv[2];
let i = Number(fs.existsSync(path.join(dir, 'counter')) ? fs.readFileSync(path.join(dir, 'counter'), 'utf8') : 0);
let stop = false;
process.on('SIGTERM', () => { stop = true; });
function step() {
  if (stop) process.exit(0);
  i++;
  fs.writeFileSync(path.join(dir, 'data' + (i % 7) + '.txt'), ('line ' + i + '\\n').repeat(1 + (i % 50)));
  fs.appendFileSync(path.join(dir, 'journal.log'), 'entry ' + i + '\\n');
  if (i % 11 === 0) fs.writeFileSync(path.join(dir, 'new-' + i + '.txt'), 'new ' + i);
  if (i % 11 === 5 && fs.existsSync(path.join(dir, 'new-' + (i - 16) + '.txt'))) fs.rmSync(path.join(dir, 'new-' + (i - 16) + '.txt'));
  if (i % 13 === 0) { fs.writeFileSync(path.join(dir, 'tmp.part'), 'snapshot of ' + i); fs.renameSync(path.join(dir, 'tmp.part'), path.join(dir, 'state.json')); }
  fs.writeFileSync(path.join(dir, 'counter'), String(i));
  setTimeout(step, i % 3);
}
step();
`;

describe('quiesce and snapshot with the shipped templates', () => {
  it(`takes snapshots equal to the source at each stop, ${ROUNDS} times, while replication goes on`, async () => {
    const work = await tmp('smr-quiesce-');
    const src = path.join(work, 'src');
    const tasks = path.join(work, 'tasks');
    await fsp.mkdir(src);
    await fsp.mkdir(tasks);
    await fsp.copyFile(
      path.join(ROOT, 'templates', 'tasks', 'snapshot-copy.sh'),
      path.join(tasks, 'snapshot-copy.sh'),
    );
    await fsp.chmod(path.join(tasks, 'snapshot-copy.sh'), 0o755);
    await fsp.writeFile(path.join(work, 'app.cjs'), APP);
    const smrWrapper = path.join(work, 'smr');
    await fsp.writeFile(smrWrapper, `#!/bin/sh\nexec "${process.execPath}" "${SMR}" "$@"\n`, {
      mode: 0o755,
    });
    // start-cmd / stop-cmd: the application as a background process with a pid file.
    // Only the application itself goes to the background, so $! is its pid.
    const startCmd = `nohup "${process.execPath}" "${work}/app.cjs" "${src}" >/dev/null 2>&1 & echo $! > "${work}/app.pid"`;
    const stopCmd = (expected: string): string =>
      // An exited orphan stays a zombie until init reaps it; state Z counts as stopped.
      `pid=$(cat "${work}/app.pid"); kill "$pid"; while kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ]; do sleep 0.01; done; cp -a "${src}" "${expected}"`;

    // Whatever happens, the application does not outlive the test.
    onCleanup(async () => {
      const pid = Number(await fsp.readFile(path.join(work, 'app.pid'), 'utf8').catch(() => '0'));
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', tasks] });
    const s = await startSource();
    await connect(s, 'app', t, src);
    await waitSynced(s, 'app');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('bash', ['-c', startCmd], { stdio: 'ignore' });
      p.on('exit', () => resolve());
      p.on('error', reject);
    });
    const snapshots = path.join(t.root, 'app.snapshots');
    const results: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((r) => setTimeout(r, 30 + ((round * 37) % 250))); // varied timing
      const expected = path.join(work, `expected-${round}`);
      const r = await runScript([
        path.join(ROOT, 'templates', 'scripts', 'quiesce-and-snapshot.sh'),
        '--connection',
        'app',
        '--smr',
        smrWrapper,
        '--state-dir',
        s.stateDir,
        '--stop-cmd',
        stopCmd(expected),
        '--start-cmd',
        startCmd,
        '--task',
        'snapshot-copy.sh',
        '--task-arg',
        '--keep',
        '--task-arg',
        '0',
        '--task-timeout',
        '2m',
        // Every other round the application restarts as soon as the task is queued: the target
        // still reaches the task at the point where the application had stopped.
        ...(round % 2 ? ['--restart-after', 'queued'] : []),
      ]);
      expect(r.code, `round ${round}: ${r.out}`).toBe(0);
      const names = (await fsp.readdir(snapshots)).filter((n) => !n.endsWith('.partial')).sort();
      expect(names.length).toBe(round + 1);
      const snap = path.join(snapshots, names[names.length - 1] as string);
      await expectSameTree(expected, snap).catch((err: Error) => {
        throw new Error(`round ${round} (${snap}): ${err.message}\n${r.out}`);
      });
      results.push(names[names.length - 1] as string);
    }
    expect(new Set(results).size).toBe(ROUNDS);
    // Replication went on after each restart: stop the app for good and compare the live replica.
    await new Promise<void>((resolve) =>
      spawn('bash', ['-c', `kill $(cat "${work}/app.pid")`], { stdio: 'ignore' }).on('exit', () =>
        resolve(),
      ),
    );
    await waitUntil(
      async () => {
        const pid = Number(await fsp.readFile(path.join(work, 'app.pid'), 'utf8'));
        const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        return stat === '' || stat.split(' ')[2] === 'Z';
      },
      10_000,
      'the app to stop',
    );
    await waitSynced(s, 'app');
    await expectSameTree(src, path.join(t.root, 'app'));
    const counter = Number(await fsp.readFile(path.join(src, 'counter'), 'utf8'));
    expect(counter).toBeGreaterThan(ROUNDS);
  }, 600_000); // test:long's 20 rounds took over 240 s on a loaded machine

  it('stops nothing while transmission is stopped, and bounds the outage with --max-down', async () => {
    const work = await tmp('smr-maxdown-');
    const tasks = path.join(work, 'tasks');
    await fsp.mkdir(tasks);
    // A snapshot that takes far longer than the outage allowed.
    await fsp.writeFile(path.join(tasks, 'slow.sh'), '#!/bin/sh\nsleep 6\necho slow done\n', {
      mode: 0o755,
    });
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', tasks] });
    const s = await startSource();
    const src = await tmp('smr-src-');
    await connect(s, 'app', t, src);
    await waitSynced(s, 'app');
    const smrWrapper = path.join(work, 'smr');
    await fsp.writeFile(smrWrapper, `#!/bin/sh\nexec "${process.execPath}" "${SMR}" "$@"\n`, {
      mode: 0o755,
    });
    const events = path.join(work, 'events');
    const script = (extra: string[]) =>
      runScript([
        path.join(ROOT, 'templates', 'scripts', 'quiesce-and-snapshot.sh'),
        ...['--connection', 'app', '--smr', smrWrapper, '--state-dir', s.stateDir],
        ...['--stop-cmd', `echo stop >> '${events}'`, '--start-cmd', `echo start >> '${events}'`],
        ...['--task', 'slow.sh', ...extra],
      ]);
    const lines = async () =>
      (await fsp.readFile(events, 'utf8').catch(() => '')).split('\n').filter(Boolean);

    expect((await smr(['transmit', 'stop', 'app', '--state-dir', s.stateDir])).code).toBe(0);
    const refused = await script([]);
    expect(refused.code, refused.out).toBe(3);
    expect(refused.out).toMatch(/transmission is stopped.*nothing was stopped/);
    expect(await lines()).toEqual([]);
    expect((await smr(['transmit', 'start', 'app', '--state-dir', s.stateDir])).code).toBe(0);
    await waitUntil(
      async () => (await status(s, 'app')).link === 'connected',
      20_000,
      'the link to come back',
    );

    const bounded = await script(['--max-down', '2s']);
    expect(bounded.code, bounded.out).toBe(6);
    expect(await lines()).toEqual(['stop', 'start']);
    const id = /task (\S+) still pending after --max-down 2s/.exec(bounded.out)?.[1];
    expect(id, bounded.out).toBeDefined();
    // The task was not lost: it runs at its point and ends well.
    const done = await smr([
      'tasks',
      'wait',
      id as string,
      '--timeout',
      '60s',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.json.outputTail).toContain('slow done');
  });

  it('runs a scheduled job from the source daemon and records its result', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    await connect(s, 'app', t, src);
    const bad = await smr([
      'schedule',
      'add',
      'nope',
      '--cron',
      'every day',
      '--state-dir',
      s.stateDir,
      '--',
      'status',
      'app',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cron/);
    const add = await smr([
      'schedule',
      'add',
      'tick',
      '--cron',
      '* * * * * *',
      '--json',
      '--state-dir',
      s.stateDir,
      '--',
      'status',
      'app',
    ]);
    expect(add.code, add.stderr).toBe(0);
    await waitUntil(
      async () => {
        const l = await smr(['schedule', 'list', '--json', '--state-dir', s.stateDir]);
        return l.json.jobs[0]?.lastRun?.exitCode === 0;
      },
      15_000,
      'the job to fire',
    );
    expect((await smr(['schedule', 'remove', 'tick', '--state-dir', s.stateDir])).code).toBe(0);
    expect((await smr(['schedule', 'remove', 'tick', '--state-dir', s.stateDir])).code).toBe(2);
    // A job that will not fire on its own during the test, run by hand.
    const yearly = await smr([
      'schedule',
      'add',
      'yearly',
      '--cron',
      '0 0 1 1 *',
      '--state-dir',
      s.stateDir,
      '--',
      'status',
      'app',
    ]);
    expect(yearly.code, yearly.stderr).toBe(0);
    const run = await smr(['schedule', 'run', 'yearly', '--json', '--state-dir', s.stateDir]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.json.run.output).toContain('app');
    const list = await smr(['schedule', 'list', '--json', '--state-dir', s.stateDir]);
    expect(list.json.jobs.map((j: { name: string }) => j.name)).toEqual(['yearly']);
    expect((await smr(['schedule', 'run', 'missing', '--state-dir', s.stateDir])).code).toBe(2);
  });
});

function runScript(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}
