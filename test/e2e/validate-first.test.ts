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
});
