// `schedule add` refuses, at once and with exit 2, a job that could only fail when cron fires; and
// `schedule run` exits with the job's own code.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, connect, smr, startSource, startTarget, tmp } from '../helpers/harness.js';

afterEach(cleanupAll);

describe('schedule add checks the job before recording it', () => {
  it('refuses an unknown verb, flag, value or connection; accepts a good job', async () => {
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, await tmp('smr-src-'), ['--mirror', 'none']);
    const add = (job: string, ...cmd: string[]) =>
      smr(['schedule', 'add', job, '--cron', '0 2 * * *', '--state-dir', s.stateDir, '--', ...cmd]);
    const refused: Array<[string[], RegExp]> = [
      [['mirorr', 'start', 'web'], /unknown verb "mirorr"; did you mean "mirror"\?/],
      [['mirror', 'start', 'web', '--mdoe', 'checksum'], /Unknown argument: mdoe/],
      [['mirror', 'start', 'web', '--mode', 'fast'], /Invalid values/],
      [['mirror', 'start', 'web', '--wait', '--timeout', '1y'], /--timeout/],
      [['mirror', 'start', 'nope'], /no connection named "nope"/],
      [['verify', 'web', '--state-dir', '/elsewhere'], /own state dir/],
      [['source', 'start'], /cannot run as a scheduled job/],
    ];
    for (const [cmd, why] of refused) {
      const r = await add('bad', ...cmd);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr, cmd.join(' ')).toMatch(why);
    }
    const list = await smr(['schedule', 'list', '--json', '--state-dir', s.stateDir]);
    expect(list.json.jobs).toEqual([]);
    const ok = await add('nightly', 'mirror', 'start', 'web', '--mode', 'checksum', '--wait');
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('refuses a bad cron expression or job name even with no daemon running', async () => {
    const sd = ['--state-dir', await tmp('smr-nodaemon-')];
    const r = await smr(['schedule', 'add', 'j', '--cron', 'every day', ...sd, '--', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cron/);
    const n = await smr(['schedule', 'add', '../j', '--cron', '0 2 * * *', ...sd, '--', 'status']);
    expect(n.code).toBe(2);
  });

  it('schedule run exits with the code of the job it ran', async () => {
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'web', t, await tmp('smr-src-'), ['--mirror', 'none']);
    // Valid when added; exits 2 when run, since no mirror is running to pause.
    const add = await smr([
      'schedule',
      'add',
      'pause',
      '--cron',
      '0 0 1 1 *',
      '--state-dir',
      s.stateDir,
      '--',
      'mirror',
      'pause',
      'web',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const run = await smr(['schedule', 'run', 'pause', '--json', '--state-dir', s.stateDir]);
    expect(run.json.run.exitCode).toBe(2);
    expect(run.code).toBe(2);
  });
});
