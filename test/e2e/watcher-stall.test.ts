// A source tree chokidar cannot finish listing (a symlink whose target passes through a regular
// file: realpath fails with ENOTDIR and chokidar never says 'ready', chokidar#1476) must not hang
// `connect` or a daemon restart: found by the chaos harness (docs/CHAOS.md). The chokidar backend
// goes on after its stall timeout; the native one never follows the link, so it must not stall.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

describe.each(['chokidar', 'native'] as const)(
  '%s watcher, a tree chokidar cannot list',
  (backend) => {
    it('connects, replicates, and restarts with a symlink through a file in the tree', async () => {
      const t = await startTarget();
      let s = await startSource();
      const dir = await tmp('smr-src-');
      await write(path.join(dir, 'plain.txt'), 'a file\n');
      await write(path.join(dir, 'other', 'x.txt'), 'in another directory\n');
      await fsp.mkdir(path.join(dir, 'links'));
      // "../plain.txt/below": the path goes through a regular file.
      await fsp.symlink('../plain.txt/below', path.join(dir, 'links', 'through-a-file'));
      await connect(s, 'web', t, dir, ['--watcher', backend]);
      await waitSynced(s, 'web');
      const replica = path.join(t.root, 'web');
      await expectSameTree(dir, replica);
      expect(await fsp.readlink(path.join(replica, 'links', 'through-a-file'))).toBe(
        '../plain.txt/below',
      );
      if (backend === 'chokidar') expect(s.log()).toContain('stalled without finishing');
      else expect(s.log()).not.toContain('stalled without finishing');

      // Live changes outside the unlistable directory still flow.
      await write(path.join(dir, 'other', 'y.txt'), 'written after connect\n');
      await waitSynced(s, 'web');
      await expectSameTree(dir, replica);

      // A restart meets the same tree: the daemon must become ready again and catch up.
      await s.stop();
      await write(path.join(dir, 'while-down.txt'), 'written while the source was down\n');
      s = await startSource(s.stateDir);
      await waitSynced(s, 'web');
      await expectSameTree(dir, replica);
      expect((await status(s, 'web')).watcher).toMatchObject({ backend });
    }, 90_000);
  },
);
