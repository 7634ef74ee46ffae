// A directory's mode is replicated by every way in: changed while the source was down (the
// restart's diff mirror), or changed on the replica behind smr's back (diff and checksum mirrors).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  tmp,
  waitMirrored,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const modeOf = async (p: string) => ((await fsp.stat(p)).mode & 0o7777).toString(8);

describe('directory modes', () => {
  it('a chmod made while the source was down reaches the target at restart', async () => {
    const t = await startTarget();
    let s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'd', 'f'), 'x');
    await fsp.chmod(path.join(dir, 'd'), 0o755);
    await connect(s, 'app', t, dir);
    await waitSynced(s, 'app');
    expect(await modeOf(path.join(t.root, 'app', 'd'))).toBe('755');
    await s.stop();
    await fsp.chmod(path.join(dir, 'd'), 0o750);
    s = await startSource(s.stateDir);
    await waitMirrored(s.stateDir, 'app');
    await waitSynced(s, 'app');
    expect(await modeOf(path.join(t.root, 'app', 'd'))).toBe('750');
  });

  for (const mode of ['diff', 'checksum'] as const) {
    it(`a ${mode} mirror puts back a directory mode changed on the replica`, async () => {
      const t = await startTarget();
      const s = await startSource();
      const dir = await tmp('smr-src-');
      await write(path.join(dir, 'd', 'f'), 'x');
      await fsp.chmod(path.join(dir, 'd'), 0o755);
      await connect(s, 'app', t, dir);
      await waitSynced(s, 'app');
      await fsp.chmod(path.join(t.root, 'app', 'd'), 0o700);
      const r = await smr([
        'mirror',
        'start',
        'app',
        '--mode',
        mode,
        '--wait',
        '--state-dir',
        s.stateDir,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(await modeOf(path.join(t.root, 'app', 'd'))).toBe('755');
    });
  }
});
