// The attribute fields of ops and listings: what the decoder lets through and what it refuses.
import { describe, expect, it } from 'vitest';
import { stampDiff, wireAttrs, attrStamp } from '../../../src/protocol/attrs.js';
import { decodeOp } from '../../../src/protocol/ops.js';
import { listEntry, wireListItem } from '../../../src/protocol/listing.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('attributes on the wire', () => {
  it('decodes owner, ns mtime, xattrs and ACLs, and keeps only known fields', () => {
    const a = {
      uid: 65534,
      gid: 100,
      ns: '1700000000123456789',
      x: [[b64('user.a'), b64('1')]],
      acl: { a: b64('x') },
      junk: 1,
    };
    const op = decodeOp('attr', { p: 'f', mode: 0o644, a }, Buffer.alloc(0));
    expect(op).toEqual({
      kind: 'attr',
      meta: {
        p: 'f',
        mode: 0o644,
        a: {
          uid: 65534,
          gid: 100,
          ns: '1700000000123456789',
          x: [[b64('user.a'), b64('1')]],
          acl: { a: b64('x') },
        },
      },
    });
  });

  it('refuses a uid without a gid, a fractional ns, bad base64 and an empty xattr name', () => {
    expect(() => wireAttrs({ uid: 1 }, 'a')).toThrow(/uid and gid together/);
    expect(() => wireAttrs({ ns: '1.5' }, 'a')).toThrow(/ns/);
    expect(() => wireAttrs({ x: [['!!!', '']] }, 'a')).toThrow(/base64/);
    expect(() => wireAttrs({ x: [['', '']] }, 'a')).toThrow(/non-empty/);
    expect(() => decodeOp('put', { p: 'f', end: true, a: { gid: 3 } }, Buffer.alloc(0))).toThrow();
  });

  it('lists a stamp as the seventh element, the link slot null for other entries', () => {
    const stamp = '0:0:1700000000123456789::';
    const item = wireListItem({
      path: 'f',
      type: 'file',
      size: 1,
      mtimeMs: 2,
      mode: 0o644,
      attrs: stamp,
    });
    expect(item).toEqual(['f', 'f', 1, 2, 0o644, null, stamp]);
    expect(listEntry(item, 'i')).toEqual({
      path: 'f',
      type: 'file',
      size: 1,
      mtimeMs: 2,
      mode: 0o644,
      attrs: stamp,
    });
    expect(() => attrStamp('0:0:x::', 's')).toThrow();
  });

  it('names the attributes two stamps differ in', () => {
    expect(stampDiff('1:2:3:aa:', '1:2:3:aa:')).toEqual([]);
    expect(stampDiff('1:2:3:aa:', '0:2:4:bb:cc')).toEqual(['owner', 'mtime', 'xattrs', 'acl']);
  });
});
