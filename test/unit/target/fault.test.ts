// What a failure while applying becomes on the wire: disk faults (ENOSPC, EDQUOT, EROFS, EIO)
// name the replica and say what to do; anything else keeps its own message and code.
import { describe, expect, it } from 'vitest';
import { describeFault, unappliable } from '../../../src/target/fault.js';
import { SmrError, asSmrError } from '../../../src/shared/errors.js';

function sysErr(code: string, syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall });
}

describe('describeFault', () => {
  it.each([
    ['ENOSPC', /^no space left on \/srv\/replica\/web \(seq 7\): free space there; /],
    ['EDQUOT', /^disk quota exceeded on \/srv\/replica\/web \(seq 7\): raise the quota/],
    [
      'EROFS',
      /^\/srv\/replica\/web is on a read-only file system \(seq 7\): remount it read-write/,
    ],
    ['EIO', /^I\/O error on \/srv\/replica\/web \(seq 7\): check the disk/],
  ])('%s names the replica and what to do', (code, message) => {
    const f = describeFault(sysErr(code), '/srv/replica/web', 7);
    expect(f.code).toBe(code);
    expect(f.seq).toBe(7);
    expect(f.message).toMatch(message);
    expect(f.message).toMatch(/the source keeps the data queued and retries$/);
  });

  it('finds the system error inside an smr error that wraps it', () => {
    const f = describeFault(asSmrError(sysErr('ENOSPC', 'open')), '/r', 1);
    expect(f.code).toBe('ENOSPC');
    expect(f.message).toMatch(/^no space left on \/r/);
  });

  it('keeps the message and code of any other failure', () => {
    const gap = new SmrError('protocol', 'operation seq 5 arrived but 3 was expected');
    expect(describeFault(gap, '/r', 5)).toEqual({
      code: 'protocol',
      seq: 5,
      message:
        'applying seq 5 into /r failed: operation seq 5 arrived but 3 was expected; the source keeps the data queued and retries',
    });
    expect(describeFault(sysErr('EMFILE', 'open'), '/r', 2).code).toBe('EMFILE');
    expect(describeFault('odd', '/r', 2).code).toBe('internal');
  });
});

describe('unappliable', () => {
  it('names the errors that belong to one op, not to the disk', () => {
    expect(unappliable(sysErr('ENAMETOOLONG', 'open'))).toMatch(/name is too long/);
    expect(unappliable(sysErr('EFBIG'))).toMatch(/too large/);
    expect(unappliable(sysErr('EINVAL', 'rename'))).toMatch(/EINVAL/);
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'ENOENT'])
      expect(unappliable(sysErr(code)), code).toBeNull();
    expect(unappliable(new SmrError('protocol', 'gap'))).toBeNull();
  });
});
