// The target's attribute applier: as root every attribute lands; as a user that is not root it
// sets what it may, counts each attribute it may not, and logs a path once.
import { chownSync, lstatSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../../src/shared/log.js';
import { applyAttrsSync } from '../../../src/target/apply-attrs.js';
import { run, toolXattrs } from '../fsmeta-tools.js';
import { scratchReplicas } from '../../helpers/replica.js';

const replica = scratchReplicas('smr-attrs');
afterEach(() => {
  vi.restoreAllMocks();
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const want = {
  uid: 4321,
  gid: 4321,
  ns: '1700000000123456789',
  x: [[b64('user.u'), b64('1')] as [string, string]],
};

// Effective uid/gid 65534 for fn (the saved uid stays root, so the test gets root back).
function asNobody<T>(fn: () => T): T {
  const groups = process.getgroups!();
  process.setgroups!([65534]);
  process.setegid!(65534);
  process.seteuid!(65534);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

describe('applyAttrsSync', () => {
  it('as root sets owner, xattrs, mode and the ns mtime', () => {
    const { base, cf } = replica();
    const f = path.join(base, 'f');
    writeFileSync(f, 'x');
    applyAttrsSync(cf, f, 'f', want, 0o640);
    const st = lstatSync(f, { bigint: true });
    expect([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n)]).toEqual([
      4321, 4321, 0o640,
    ]);
    expect(st.mtimeNs).toBe(1700000000123456789n);
    expect(toolXattrs(f).get('user.u')?.toString()).toBe('1');
    expect(cf.refusals.total).toBe(0);
  });

  it('not root: sets what it may, counts the owner it may not, and logs the path once', () => {
    const { base, cf } = replica();
    chownSync(base, 65534, 65534);
    const f = path.join(base, 'f');
    writeFileSync(f, 'x');
    chownSync(f, 65534, 65534);
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    asNobody(() => {
      applyAttrsSync(cf, f, 'f', want, 0o600);
      applyAttrsSync(cf, f, 'f', want, 0o600);
    });
    const st = lstatSync(f, { bigint: true });
    expect(Number(st.uid)).toBe(65534); // could not give it away
    expect(st.mtimeNs).toBe(1700000000123456789n);
    expect(Number(st.mode & 0o7777n)).toBe(0o600);
    expect(run('getfattr', ['--only-values', '-n', 'user.u', f])).toBe('1');
    expect(cf.refusals.counts.owner).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/^f: not replicated: cannot give/);
  });
});
