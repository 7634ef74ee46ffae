import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../../src/shared/log.js';
import { Skipped } from '../../../src/source/skipped.js';

afterEach(() => vi.restoreAllMocks());

describe('Skipped', () => {
  it('counts and logs each path once per reason, the target reasons prefixed', () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const s = new Skipped();
    s.skip('a/sock', 'socket', 'a socket is not a type smr replicates');
    s.skip('a/sock', 'socket', 'a socket is not a type smr replicates'); // a rescan meets it again
    s.skip('f\udcff', 'unreadable', 'the source cannot read it (EACCES)');
    s.fromTarget({ owner: 2 });
    s.fromTarget({ owner: 1, name: 1 }, ['deep/name']);
    expect(s.status()).toEqual({
      count: 6,
      reasons: { socket: 1, unreadable: 1, 'target:owner': 3, 'target:name': 1 },
    });
    expect(warn).toHaveBeenCalledTimes(2);
    // A byte that is not UTF-8 is logged escaped, never as U+FFFD.
    expect(warn.mock.calls[1]?.[0]).toBe(
      'f\\xff: not replicated: the source cannot read it (EACCES)',
    );
    expect(s.nameRefused('deep/name')).toBe(true);
    expect(s.nameRefused('a/sock')).toBe(false);
  });

  it('tells a refusal to read from other errors', () => {
    vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    const s = new Skipped();
    expect(s.unreadable('x', Object.assign(new Error('no'), { code: 'EIO' }))).toBe(false);
    expect(s.unreadable('x', Object.assign(new Error('no'), { code: 'EACCES' }))).toBe(true);
    expect(s.status()).toEqual({ count: 1, reasons: { unreadable: 1 } });
  });
});
