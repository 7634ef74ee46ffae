// Issue 18: capture under a burst it cannot keep up with holds a bounded number of paths in memory
// and keeps the rest in the index (the work queue's spill), losing none. A tree of 18,000 files is
// moved into the source path in one rename: the watcher hints every one of them in one go, more
// than twice the queue's limit (MAX_QUEUED_PATHS), so the spill is used whatever the machine's speed.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_QUEUED_PATHS } from '../../src/source/capture.js';
import {
  cleanupAll,
  connect,
  expectSameTree,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const DIRS = 18;
const PER_DIR = 1000;

/** Every regular file below `root`, with its content: the test's own walk. */
async function files(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await files(root, p)) out.set(k, v);
    else if (e.isFile()) out.set(p, await fsp.readFile(path.join(root, p), 'utf8'));
  }
  return out;
}

describe('capture backlog (issue 18)', () => {
  it('a burst of over twice the queue limit spills to the index and every file replicates', async () => {
    expect(DIRS * PER_DIR).toBeGreaterThan(2 * MAX_QUEUED_PATHS);
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    const staging = await tmp('smr-staging-'); // same file system: the move is one rename
    await connect(s, 'burst', t, dir);
    await waitSynced(s, 'burst');

    const tree = path.join(staging, 'burst');
    for (let d = 0; d < DIRS; d++) {
      await fsp.mkdir(path.join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < PER_DIR; f++)
        await fsp.writeFile(path.join(tree, `d${d}`, `f${f}`), `file ${d}/${f}\n`);
    }
    await fsp.rename(tree, path.join(dir, 'burst'));
    // Changes while the backlog waits: they must not be lost behind it, nor overtaken by it.
    await fsp.writeFile(path.join(dir, 'burst', 'd0', 'f0'), 'rewritten\n');
    await fsp.rm(path.join(dir, 'burst', 'd1'), { recursive: true });
    await fsp.rename(path.join(dir, 'burst', 'd2'), path.join(dir, 'burst', 'd2-moved'));

    // The harness's waitSynced kills its `wait` after 60 s; a busy machine may need longer here.
    const w = await smr(
      ['wait', 'burst', '--timeout', '600s', '--state-dir', s.stateDir, '--json'],
      {
        timeoutMs: 660_000,
      },
    );
    expect(w.code, `${w.stdout}${w.stderr}\n${s.log().slice(-3000)}`).toBe(0);
    const replica = path.join(t.root, 'burst');
    const want = await files(dir);
    expect(want.size).toBe((DIRS - 1) * PER_DIR);
    expect(await files(replica)).toEqual(want);
    await expectSameTree(dir, replica);
    expect(s.log()).toMatch(/further changes wait in the index until capture catches up/);
  }, 900_000);
});
