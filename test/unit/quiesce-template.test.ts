// templates/scripts/quiesce-and-snapshot.sh against a stub smr and stub services: it checks the
// connection before stopping anything, bounds the outage with --max-down, restarts early with
// --restart-after queued, and always starts the service again.
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATES, logLines, runScript, scratch, scratchBase, stub } from '../helpers/scripts.js';

const QUIESCE = path.join(TEMPLATES, 'scripts/quiesce-and-snapshot.sh');
let base: string;
beforeAll(async () => {
  base = await scratchBase('smr-quiesce-unit-');
});
afterAll(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

/**
 * An smr that logs its arguments and answers like the real one: `status` (FAKE_STATUS_EXIT,
 * FAKE_LINK, FAKE_TRANSMIT), `queue-task` prints a task id (FAKE_QUEUE_EXIT), `tasks wait` ends as
 * FAKE_TASK says: succeeded, failed, timed-out, down (exit 3) or pending (waits out its --timeout).
 */
async function fakeSmr(dir: string, log: string): Promise<string> {
  return stub(
    path.join(dir, 'fake-smr'),
    `
printf 'smr' >> "${log}"; for a in "$@"; do printf ' [%s]' "$a" >> "${log}"; done; echo >> "${log}"
timeout=0
for ((i = 1; i < $#; i++)); do if [[ \${!i} == --timeout ]]; then j=$((i + 1)); timeout=\${!j}; fi; done
case "$1" in
  status)
    if [[ -n \${FAKE_STATUS_EXIT:-} ]]; then
      echo '{"error":{"code":"unknown-connection","message":"no connection named \\"web\\""}}'
      exit "$FAKE_STATUS_EXIT"
    fi
    echo '{"name":"web","target":"h:1","link":"'"\${FAKE_LINK:-connected}"'","transmit":"'"\${FAKE_TRANSMIT:-started}"'","mirror":{"state":"idle"}}' ;;
  queue-task) [[ \${FAKE_QUEUE_EXIT:-0} == 0 ]] && echo t1abc; exit "\${FAKE_QUEUE_EXIT:-0}" ;;
  tasks)
    case "\${FAKE_TASK:-succeeded}" in
      succeeded) echo '{"id":"t1abc","state":"succeeded","exitCode":0}' ;;
      failed) echo '{"id":"t1abc","state":"failed","exitCode":3}'; exit 5 ;;
      timed-out) echo '{"id":"t1abc","state":"timed-out","exitCode":null}'; exit 6 ;;
      down) echo '{"error":{"code":"daemon-not-running","message":"no daemon"}}'; exit 3 ;;
      pending) sleep "\${timeout%s}"; echo '{"error":{"code":"timeout","message":"task t1abc still queued"}}'; exit 6 ;;
    esac ;;
esac`,
  );
}

async function setup() {
  const dir = await scratch(base, 'q');
  const log = path.join(dir, 'calls.log');
  const smr = await fakeSmr(dir, log);
  const stopped = path.join(dir, 'stopped');
  const svc = [
    '--stop-cmd',
    `echo stop >> '${log}'; touch '${stopped}'`,
    '--start-cmd',
    `echo start >> '${log}'; rm -f '${stopped}'`,
  ];
  return { dir, log, smr, stopped, svc, base: ['--smr', smr, '--connection', 'web', ...svc] };
}

/** The log as a list of events: stop, start, and smr's verb for each smr call. */
async function events(log: string): Promise<string[]> {
  return (await logLines(log)).map((l) => (l.startsWith('smr ') ? /\[([^\]]*)\]/.exec(l)![1]! : l));
}

describe('scripts/quiesce-and-snapshot.sh', () => {
  it('checks the connection, stops, queues, waits for the task, then starts; exit 0', async () => {
    const { dir, log, base: args } = await setup();
    const sd = path.join(dir, 'state');
    const r = runScript(QUIESCE, [
      ...args,
      '--state-dir',
      sd,
      ...['--task-arg', '--keep', '--task-arg', 'two words', '--task-arg', '$HOME'],
    ]);
    expect(r.status, r.stderr).toBe(0);
    const lines = await logLines(log);
    expect(lines[0]).toBe(`smr [status] [web] [--json] [--state-dir] [${sd}]`);
    expect(lines[1]).toBe('stop');
    expect(lines[2]).toBe(
      `smr [queue-task] [web] [--on] [execute] [--timeout] [10m] [--state-dir] [${sd}] [--] [snapshot-copy.sh] [--keep] [two words] [$HOME]`,
    );
    // Waits for the task at most what is left of --max-down (2m).
    expect(lines[3]).toMatch(
      new RegExp(
        `^smr \\[tasks\\] \\[wait\\] \\[t1abc\\] \\[--timeout\\] \\[1[12]\\ds\\] \\[--json\\] \\[--state-dir\\] \\[${sd}\\]$`,
      ),
    );
    expect(lines.slice(4)).toEqual(['start']);
    expect(r.stderr).toMatch(/task t1abc succeeded/);
  });

  it.each([
    [
      'an unknown connection',
      { FAKE_STATUS_EXIT: '2' },
      2,
      /no connection named "web"; nothing was stopped/,
    ],
    ['no daemon running', { FAKE_STATUS_EXIT: '3' }, 3, /nothing was stopped/],
    ['a stopped transmission', { FAKE_TRANSMIT: 'stopped' }, 3, /transmission is stopped/],
    ['a paused transmission', { FAKE_TRANSMIT: 'paused' }, 3, /transmission is paused/],
    ['a link that is down', { FAKE_LINK: 'connecting' }, 3, /the link is connecting/],
  ])('stops nothing when it finds %s', async (_what, env, code, message) => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, args, env);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(await events(log)).toEqual(['status']);
  });

  it('starts the service again after --max-down and reports the task as still pending (exit 6)', async () => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, [...args, '--max-down', '2s'], { FAKE_TASK: 'pending' });
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/task t1abc still pending after --max-down 2s/);
    expect(r.stderr).toMatch(/smr tasks wait t1abc/);
    expect(await events(log)).toEqual(['status', 'stop', 'queue-task', 'tasks', 'start']);
    // The wait for the task was bounded by what was left of --max-down.
    const wait = (await logLines(log)).find((l) => l.startsWith('smr [tasks]'))!;
    expect(wait).toMatch(/\[--timeout\] \[[12]s\]/);
  });

  it('with --restart-after queued, starts the service once the task is queued, then waits', async () => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, [...args, '--restart-after', 'queued', '--wait-timeout', '5m']);
    expect(r.status, r.stderr).toBe(0);
    expect(await events(log)).toEqual(['status', 'stop', 'queue-task', 'start', 'tasks']);
    expect((await logLines(log)).at(-1)).toMatch(/\[--timeout\] \[300s\]/);
    const failed = await setup();
    const f = runScript(QUIESCE, [...failed.base, '--restart-after', 'queued'], {
      FAKE_TASK: 'failed',
    });
    expect(f.status).toBe(5);
    expect(await events(failed.log)).toEqual(['status', 'stop', 'queue-task', 'start', 'tasks']);
    const nowait = await setup();
    const n = runScript(QUIESCE, [
      ...nowait.base,
      '--restart-after',
      'queued',
      '--wait-timeout',
      '0',
    ]);
    expect(n.status, n.stderr).toBe(0);
    expect(await events(nowait.log)).toEqual(['status', 'stop', 'queue-task', 'start']);
  });

  it.each([
    ['failed', 5, /failed or was rejected/],
    ['timed-out', 6, /timed out on the target/],
    ['down', 3, /not running or target unreachable/],
  ])('a task that ends %s exits %i, after starting the service', async (task, code, message) => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, args, { FAKE_TASK: task });
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
    expect((await events(log)).at(-1)).toBe('start');
  });

  it('a queue-task that fails is passed on, and the service is started again', async () => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, args, { FAKE_QUEUE_EXIT: '2' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no task queued/);
    expect(await events(log)).toEqual(['status', 'stop', 'queue-task', 'start']);
  });

  it('waits for --stopped-check, and gives up after --stop-timeout without queueing (exit 6), restarting', async () => {
    const { log, base: args, stopped } = await setup();
    const ok = runScript(QUIESCE, [...args, '--stopped-check', `test -e '${stopped}'`]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(await events(log)).toEqual(['status', 'stop', 'queue-task', 'tasks', 'start']);
    await fsp.rm(log);
    const never = runScript(QUIESCE, [...args, '--stopped-check', 'false', '--stop-timeout', '1s']);
    expect(never.status).toBe(6);
    expect(never.stderr).toMatch(/did not stop within 1s/);
    expect(await events(log)).toEqual(['status', 'stop', 'start']);
  });

  it('neither stops nor starts a service that was not running', async () => {
    const { log, base: args } = await setup();
    const r = runScript(QUIESCE, [...args, '--stopped-check', 'true']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not running/);
    expect(await events(log)).toEqual(['status', 'queue-task', 'tasks']);
  });

  it('restarts the service when the stop command fails, and exits 1', async () => {
    const { log, smr } = await setup();
    const r = runScript(QUIESCE, [
      ...['--smr', smr, '--connection', 'web'],
      ...['--stop-cmd', 'exit 9', '--start-cmd', `echo start >> '${log}'`],
    ]);
    expect(r.status).toBe(1);
    expect(await events(log)).toEqual(['status', 'start']);
  });

  it('restarts the service when interrupted while waiting for the task', async () => {
    const { dir, log, svc } = await setup();
    const slow = await stub(
      path.join(dir, 'slow-smr'),
      `case "$1" in
  status) echo '{"link":"connected","transmit":"started"}' ;;
  queue-task) echo t1abc ;;
  *) echo waiting >> '${log}'; sleep 20 ;;
esac`,
    );
    const child = spawn(QUIESCE, ['--smr', slow, '--connection', 'web', ...svc], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    for (let i = 0; i < 100 && !(await logLines(log)).includes('waiting'); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(await logLines(log)).toEqual(['stop', 'waiting', 'start']);
  });

  it('drives a systemd unit through systemctl (stub), polling ActiveState', async () => {
    const { dir, log, smr } = await setup();
    const bin = await scratch(base, 'systemctl-bin');
    const state = path.join(dir, 'active-state');
    await fsp.writeFile(state, 'active\n');
    await stub(
      path.join(bin, 'systemctl'),
      [
        'case "$*" in',
        '  "show --property=LoadState --value -- db.service") echo loaded ;;',
        '  "show --property=LoadState --value -- "*) echo not-found ;;',
        `  "show --property=ActiveState --value -- db.service") cat '${state}' ;;`,
        // Stopping takes a moment: "deactivating" first, then "inactive".
        `  "stop --no-block -- db.service") echo stop >> '${log}'; echo deactivating > '${state}'; (sleep 1; echo inactive > '${state}') & ;;`,
        `  "start -- db.service") echo "start (was $(cat '${state}'))" >> '${log}'; echo active > '${state}' ;;`,
        '  *) echo "unexpected: systemctl $*" >&2; exit 9 ;;',
        'esac',
      ].join('\n'),
    );
    const PATH = `${bin}:${process.env.PATH}`;
    const args = ['--smr', smr, '--connection', 'web'];
    const r = runScript(QUIESCE, [...args, '--service', 'db.service'], { PATH });
    expect(r.status, r.stderr).toBe(0);
    // The task was queued only once the unit had fully stopped.
    expect(await events(log)).toEqual([
      'status',
      'stop',
      'queue-task',
      'tasks',
      'start (was inactive)',
    ]);
    const unknown = runScript(QUIESCE, [...args, '--service', 'nope'], { PATH });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no systemd unit "nope"/);
  });

  it('refuses incomplete or bad options before touching anything', async () => {
    const { log, smr, base: args } = await setup();
    const refused: string[][] = [
      ['--smr', smr, '--connection', 'web'],
      ['--smr', smr, '--connection', 'web', '--stop-cmd', 'echo stop'],
      ['--smr', smr, '--stop-cmd', 'a', '--start-cmd', 'b'],
      ['--smr', '/nonexistent/smr', '--connection', 'web', '--stop-cmd', 'a', '--start-cmd', 'b'],
      [...args, '--max-down', '0'],
      [...args, '--max-down', '1y'],
      [...args, '--restart-after', 'later'],
      [...args, '--wait-timeout', 'soon'],
      [...args, '--task-timeout', 'x'],
    ];
    for (const a of refused) expect(runScript(QUIESCE, a).status, a.join(' ')).toBe(2);
    expect(await logLines(log)).toEqual([]);
  });
});
