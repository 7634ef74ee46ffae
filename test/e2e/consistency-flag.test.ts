// `--consistency`: `file` says so in status; `crash` on a path that is not on btrfs (here /tmp) is
// refused at connect, with one line and nothing recorded, rather than accepted and not honoured.
// Crash mode itself: test/e2e/crash-mode.test.ts and test/e2e/consistency.test.ts.
import path from 'node:path';
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

describe('consistency mode', () => {
  it('status says file; --consistency crash off btrfs is refused with exit 2 and records nothing', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'app', t, dir, ['--consistency', 'file']);
    expect((await status(s, 'app')).consistency).toBe('file');
    const args = [
      'connect',
      'db',
      '--to',
      t.addr,
      '--path',
      path.join(dir),
      '--state-dir',
      s.stateDir,
    ];
    const r = await smr([...args, '--key-file', t.keyFile ?? '', '--consistency', 'crash']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /--consistency crash needs a btrfs subvolume; see docs\/CONSISTENCY.md/,
    );
    const all = await smr(['status', '--json', '--state-dir', s.stateDir]);
    expect(all.json.connections.map((c: { name: string }) => c.name)).toEqual(['app']);
  });
});
