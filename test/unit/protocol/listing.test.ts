// Listings and replies: named entries survive their wire tuples, and a reply missing what its
// request needs is a protocol error, not a wrong answer.
import { describe, expect, it } from 'vitest';
import {
  listEntry,
  typeLetter,
  wireListItem,
  type ListEntry,
} from '../../../src/protocol/listing.js';
import { blocksReply, sumsReply } from '../../../src/protocol/requests.js';

describe('list entries', () => {
  it('round-trip through the wire tuple, link target included', () => {
    const entries: ListEntry[] = [
      { path: 'a/b', type: 'file', size: 5, mtimeMs: 1.25, mode: 0o640 },
      { path: 'a', type: 'dir', size: 0, mtimeMs: 2, mode: 0o755 },
      { path: 'l', type: 'symlink', size: 1, mtimeMs: 3, mode: 0o777, link: '../x' },
      // A file with hard links carries its inode, with or without an attribute stamp.
      { path: 'h', type: 'file', size: 1, mtimeMs: 3, mode: 0o644, inode: '2049:77' },
      { path: 'i', type: 'file', size: 1, mtimeMs: 3, mode: 0o644, attrs: '0:0:5::', inode: '1:2' },
    ];
    for (const e of entries) expect(listEntry(wireListItem(e), 'item')).toEqual(e);
    expect(entries.map((e) => typeLetter(e.type))).toEqual(['f', 'd', 'l', 'f', 'f']);
    expect(() => listEntry(['h', 'f', 1, 3, 0o644, null, null, 'x'], 'item')).toThrow(/dev:ino/);
  });

  it('carry fifos, sockets and devices, a device with its [major, minor]', () => {
    const entries: ListEntry[] = [
      { path: 'p', type: 'fifo', size: 0, mtimeMs: 1, mode: 0o640, attrs: '1:2:3::' },
      { path: 's', type: 'socket', size: 0, mtimeMs: 1, mode: 0o755 },
      { path: 'c', type: 'char', size: 0, mtimeMs: 1, mode: 0o620, rdev: [1, 3] },
      {
        path: 'b',
        type: 'block',
        size: 0,
        mtimeMs: 1,
        mode: 0o660,
        attrs: '0:0:1::',
        rdev: [259, 70000],
      },
    ];
    for (const e of entries) expect(listEntry(wireListItem(e), 'item')).toEqual(e);
    expect(entries.map((e) => typeLetter(e.type))).toEqual(['p', 's', 'c', 'b']);
    // The device number sits last, after a null inode: an 8-tuple of before still reads the same.
    expect(wireListItem(entries[2] as ListEntry)).toEqual([
      'c',
      'c',
      0,
      1,
      0o620,
      null,
      null,
      null,
      [1, 3],
    ]);
    expect(listEntry(['h', 'f', 1, 3, 0o644, null, null, '1:2'], 'item').inode).toBe('1:2');
    expect(() => listEntry(['c', 'c', 0, 1, 0o620, null, null, null, [1]], 'item')).toThrow(
      /major, minor/,
    );
    expect(() => listEntry(['c', 'c', 0, 1, 0o620, null, null, null, [-1, 2]], 'item')).toThrow();
    expect(() => listEntry(['x', 'x', 0, 1, 0o620], 'item')).toThrow(/f\|d\|l\|p\|s\|c\|b/);
  });
});

describe('replies', () => {
  const sha = 'cd'.repeat(32);

  it('blocks: the body holds one u64 per block; anything else is refused', () => {
    const body = Buffer.alloc(16);
    body.writeBigUInt64LE(7n, 0);
    body.writeBigUInt64LE(9n, 8);
    const ok = blocksReply({
      header: { reqId: 1, exists: true, size: 5000, blockSize: 4096, sha256: sha },
      body,
    });
    expect(ok.exists && [...ok.hashes]).toEqual([7n, 9n]);
    expect(blocksReply({ header: { reqId: 1, exists: false }, body: Buffer.alloc(0) })).toEqual({
      exists: false,
    });
    expect(() =>
      blocksReply({
        header: { reqId: 1, exists: true, size: 5000, blockSize: 4096, sha256: sha },
        body: Buffer.alloc(8),
      }),
    ).toThrow(/body bytes/);
    expect(() => blocksReply({ header: { reqId: 1, exists: true }, body })).toThrow(/lacks/);
  });

  it('sums: one entry per path asked for', () => {
    const r = {
      header: { reqId: 1, sums: [{ size: 1, sha256: sha }, null] },
      body: Buffer.alloc(0),
    };
    expect(sumsReply(r, 2)).toHaveLength(2);
    expect(() => sumsReply(r, 3)).toThrow(/2 entries for 3 paths/);
  });
});
