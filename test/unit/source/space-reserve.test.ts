// The state dir's space reserve: real blocks taken, given back on a full disk, and a disk too
// small to hold it said out loud (with nothing half-written left behind).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpaceReserve } from '../../../src/source/space-reserve.js';
import { cleanupAll, tmp } from '../../helpers/harness.js';
import { mountSmallFs, smallFsUnavailable } from '../../helpers/small-fs.js';

afterEach(cleanupAll);

const MiB = 1024 * 1024;
const noSmallFs = await smallFsUnavailable();

describe('SpaceReserve', () => {
  it('takes real (not sparse) blocks, gives them back, and takes them again', async () => {
    const dir = await tmp('smr-reserve-');
    const r = new SpaceReserve(dir, 2 * MiB);
    await r.take('web');
    expect(r.holding).toBe(true);
    const st = await fsp.stat(r.file);
    expect(st.size).toBe(2 * MiB);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(2 * MiB);
    expect(await r.release()).toBe(true);
    expect(await fsp.stat(r.file).catch(() => null)).toBeNull();
    expect(await r.release()).toBe(false); // nothing held: still fine
    await r.take('web');
    expect((await fsp.stat(r.file)).size).toBe(2 * MiB);
  });

  it.runIf(noSmallFs === null)(
    'on a disk without room it holds nothing and leaves no partial file',
    async () => {
      const fs = await mountSmallFs(8, 'tmpfs');
      const r = new SpaceReserve(fs.dir, 16 * MiB);
      await r.take('web');
      expect(r.holding).toBe(false);
      expect(await fsp.readdir(fs.dir)).toEqual([]);
      expect(await fs.freeBytes()).toBeGreaterThan(7 * MiB);
      expect(path.basename(r.file)).toBe('space-reserve');
    },
  );
});
