// The target's mknod: as root fifos and devices are made with their mode, owner and device
// number, and one that already matches is kept; a target that may not make a device skips it,
// counts it and logs the path once.
import { chmodSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { splitDev } from '../../../src/fsmeta/index.js';
import { log } from '../../../src/shared/log.js';
import { applyMknod } from '../../../src/target/node-ops.js';
import { scratchReplicas } from '../../helpers/replica.js';

const replica = scratchReplicas('smr-nodes');
afterEach(() => {
  vi.restoreAllMocks();
});

// Effective uid/gid 65534 while fn runs (the saved uid stays root, so the test gets root back).
async function asNobody<T>(fn: () => Promise<T>): Promise<T> {
  const groups = process.getgroups!();
  process.setgroups!([65534]);
  process.setegid!(65534);
  process.seteuid!(65534);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

describe('applyMknod', () => {
  it.skipIf(process.geteuid?.() !== 0)(
    'as root makes fifos and devices, and keeps a match',
    async () => {
      const { base, cf } = replica();
      await applyMknod(cf, { p: 'f', type: 'fifo', mode: 0o640, a: { uid: 65534, gid: 65534 } });
      await applyMknod(cf, { p: 'd/tty', type: 'char', mode: 0o600, rdev: [5, 0] });
      const f = lstatSync(path.join(base, 'f'), { bigint: true });
      expect([f.isFIFO(), Number(f.mode & 0o7777n), Number(f.uid), Number(f.gid)]).toEqual([
        true,
        0o640,
        65534,
        65534,
      ]);
      const d = lstatSync(path.join(base, 'd', 'tty'), { bigint: true });
      expect(d.isCharacterDevice()).toBe(true);
      expect(splitDev(d.rdev)).toEqual({ major: 5, minor: 0 });
      await applyMknod(cf, { p: 'f', type: 'fifo', mode: 0o600 });
      const again = lstatSync(path.join(base, 'f'), { bigint: true });
      expect([again.ino, Number(again.mode & 0o7777n)]).toEqual([f.ino, 0o600]);
      // Another type in the way is replaced.
      await applyMknod(cf, { p: 'f', type: 'socket', mode: 0o600 });
      expect(lstatSync(path.join(base, 'f')).isSocket()).toBe(true);
      expect(cf.refusals.total).toBe(0);
    },
  );

  it.skipIf(process.geteuid?.() !== 0)(
    'not root: a device is skipped, counted, and its path logged once',
    async () => {
      const { base, cf } = replica();
      chmodSync(base, 0o777);
      const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
      await asNobody(async () => {
        await applyMknod(cf, { p: 'tty', type: 'char', mode: 0o600, rdev: [5, 0] });
        await applyMknod(cf, { p: 'tty', type: 'char', mode: 0o600, rdev: [5, 0] });
        await applyMknod(cf, { p: 'fifo', type: 'fifo', mode: 0o600 });
      });
      expect(() => lstatSync(path.join(base, 'tty'))).toThrow(/ENOENT/);
      expect(lstatSync(path.join(base, 'fifo')).isFIFO()).toBe(true);
      expect(cf.refusals.counts).toEqual({ special: 2 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /tty: not replicated: char device .* need root/,
      );
    },
  );
});
