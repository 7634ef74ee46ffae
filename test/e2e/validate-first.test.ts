// Validate before acting: a bad value on the command line is refused (exit 2, one line) before the
// verb reaches any daemon or changes anything.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
} from '../helpers/harness.js';

afterEach(cleanupAll);

async function expectUsage(args: string[], match: RegExp): Promise<void> {
  const r = await smr(args);
  expect(r.code, `smr ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(match);
}

describe('flags are checked before the verb acts', () => {
  it('a bad duration, rate or address exits 2 even with no daemon to talk to', async () => {
    // No daemon runs for this state dir: reaching it would exit 3, so 2 proves nothing was tried.
    const sd = ['--state-dir', await tmp('smr-nodaemon-')];
    await expectUsage(
      ['mirror', 'start', 'web', '--wait', '--timeout', '1y', ...sd],
      /--timeout.*"1y"/,
    );
    await expectUsage(['mirror', 'start', 'web', '--wait', '--timeout', '99d', ...sd], /too long/);
    await expectUsage(['queue-task', 'web', '--timeout', '1y', ...sd, '--', 'x'], /--timeout/);
    await expectUsage(
      ['queue-task', 'web', '--wait', '--wait-timeout', 'soon', ...sd, '--', 'x'],
      /--wait-timeout/,
    );
    await expectUsage(['limit', 'web', '--bandwidth', '5parsecs', ...sd], /--bandwidth/);
    await expectUsage(['limit', 'web', '--bandwidth', '100', ...sd], /below 1KiB\/s/);
    await expectUsage(['wait', 'web', '--timeout', '5x', ...sd], /--timeout/);
    await expectUsage(['connect', 'web', '--to', 'a b:1', '--path', '/tmp', ...sd], /--to/);
  });

  it('mirror start --wait --timeout 1y starts no mirror on a running source', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await fsp.writeFile(path.join(dir, 'a.txt'), 'a');
    await connect(s, 'web', t, dir, ['--mirror', 'none']);
    await expectUsage(
      ['mirror', 'start', 'web', '--wait', '--timeout', '1y', '--state-dir', s.stateDir],
      /--timeout/,
    );
    expect((await status(s, 'web')).mirror.state).toBe('idle');
  });

  it('a target asked to run tasks without an existing --tasks-dir refuses to start', async () => {
    const top = await tmp('smr-tasksdir-');
    const base = ['target', 'start', '--listen', '127.0.0.1:0', '--root', path.join(top, 'r')];
    const sd = ['--no-auth', '--state-dir', path.join(top, 'state')];
    await expectUsage([...base, '--allow-tasks', ...sd], /--allow-tasks needs --tasks-dir/);
    const missing = path.join(top, 'no-such-dir');
    await expectUsage([...base, '--allow-tasks', '--tasks-dir', missing, ...sd], /does not exist/);
    await fsp.writeFile(path.join(top, 'file'), '');
    await expectUsage([...base, '--tasks-dir', path.join(top, 'file'), ...sd], /not a directory/);
    const cfg = path.join(top, 'smr.yaml');
    await fsp.writeFile(cfg, 'target:\n  allowTasks: true\n');
    await expectUsage([...base, '--config', cfg, ...sd], /--allow-tasks needs --tasks-dir/);
    await expectUsage(
      ['source', 'start', '--tasks-dir', missing, ...sd.slice(1)],
      /does not exist/,
    );
  });
});
