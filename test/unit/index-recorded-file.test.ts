// PathIndex.holdsFile on a real SQLite file: true only when the row is a file, not marked unsure,
// with no op after the bound, and holds every field asked for exactly (size, ns mtime, permission
// bits, inode, the proving ctime, the attribute stamp as the target lists it, the block hashes);
// any one field off, and it is false (the checksum mirror then compares the long way).
import { describe, expect, it } from 'vitest';
import {
  DIRTY_CHANGED,
  DIRTY_UNSURE,
  type FileAsFound,
  type IndexEntry,
} from '../../src/index/index.js';
import { indexEntry, scratchIndex } from '../helpers/scratch-index.js';

const scratch = scratchIndex('smr-held');
const p = (s: string): Buffer => Buffer.from(s);

const MTIME = 1_700_000_000_123_456_789n; // no double holds it exactly
const CTIME = 1_700_000_001_000_000_000n;
const blocks = { blockSize: 16384, size: 20000, hashes: BigUint64Array.from([1n, 2n ** 64n - 1n]) };

function entry(over: Partial<IndexEntry> = {}): IndexEntry {
  const attrDigest = Buffer.from('1700000000123456789:x0:a0');
  return indexEntry({
    size: 20000,
    gid: 100,
    ino: 77n,
    attrDigest,
    seq: 5,
    ctimeNs: CTIME,
    ...over,
  });
}

function found(over: Partial<FileAsFound> = {}): FileAsFound {
  return {
    size: 20000,
    mtimeNs: MTIME,
    mode: 0o644,
    dev: 2049,
    ino: 77,
    ctimeNs: CTIME,
    listed: '1000:100:1700000000123456789:x0:a0',
    maxSeq: 5,
    blocks,
    ...over,
  };
}

describe('PathIndex.holdsFile', () => {
  it('holds a file recorded exactly as found, with or without a listed stamp', () => {
    scratch.index.put(p('d/f'), entry(), blocks);
    expect(scratch.index.holdsFile(p('d/f'), found())).toBe(true);
    expect(scratch.index.holdsFile(p('d/f'), found({ listed: undefined, maxSeq: 9 }))).toBe(true);
    expect(scratch.index.holdsFile(p('d/g'), found())).toBe(false); // not indexed
  });

  it('is false when any one field differs', () => {
    scratch.index.put(p('f'), entry(), blocks);
    const off: Array<[string, Partial<FileAsFound>]> = [
      ['size', { size: 20001 }],
      ['mtime by 1 ns', { mtimeNs: MTIME + 1n }],
      ['mode', { mode: 0o600 }],
      ['dev', { dev: 2050 }],
      ['ino', { ino: 78 }],
      ['ctime', { ctimeNs: CTIME + 1n }],
      ['listed owner', { listed: '0:100:1700000000123456789:x0:a0' }],
      ['listed digest', { listed: '1000:100:1700000000123456789:x1:a0' }],
      ['an op since', { maxSeq: 4 }],
      ['block size', { blocks: { ...blocks, blockSize: 8192 } }],
      ['file size of the hashes', { blocks: { ...blocks, size: 19999 } }],
      ['a hash', { blocks: { ...blocks, hashes: BigUint64Array.from([1n, 3n]) } }],
      [
        'a hash more',
        { blocks: { ...blocks, hashes: BigUint64Array.from([1n, 2n ** 64n - 1n, 0n]) } },
      ],
    ];
    for (const [what, o] of off)
      expect(scratch.index.holdsFile(p('f'), found(o)), what).toBe(false);
    expect(scratch.index.holdsFile(p('f'), found())).toBe(true);
  });

  it('is false for a row that is no file, has no stamp, no proving ctime or no block hashes', () => {
    scratch.index.put(p('dir'), entry({ type: 'dir', mode: 0o40644 }), null);
    scratch.index.put(p('unstamped'), entry({ attrDigest: null }), blocks);
    scratch.index.put(p('unproved'), entry({ ctimeNs: 0n }), blocks);
    scratch.index.put(p('nohashes'), entry(), null);
    for (const f of ['dir', 'unstamped', 'unproved', 'nohashes'])
      expect(scratch.index.holdsFile(p(f), found({ listed: undefined })), f).toBe(false);
    expect(scratch.index.holdsFile(p('unproved'), found({ ctimeNs: 0n, listed: undefined }))).toBe(
      false,
    );
  });

  it('is false while the path is marked unsure, true under another mark', () => {
    scratch.index.put(p('f'), entry(), blocks);
    scratch.index.markDirty(p('f'), DIRTY_CHANGED);
    expect(scratch.index.holdsFile(p('f'), found())).toBe(true);
    scratch.index.markDirty(p('f'), DIRTY_UNSURE);
    expect(scratch.index.holdsFile(p('f'), found())).toBe(false);
    scratch.index.clearDirty(p('f'));
    expect(scratch.index.holdsFile(p('f'), found())).toBe(true);
  });

  it('finds a wide inode; leaves a device number past 2^63 (stored signed) to the long way', () => {
    scratch.index.put(p('big'), entry({ dev: 2n ** 63n + 5n, ino: 2n ** 40n + 3n }), blocks);
    expect(scratch.index.holdsFile(p('big'), found({ dev: 2 ** 63 + 5, ino: 2 ** 40 + 3 }))).toBe(
      false,
    );
    scratch.index.put(p('wide'), entry({ ino: 2n ** 40n + 3n }), blocks);
    expect(scratch.index.holdsFile(p('wide'), found({ ino: 2 ** 40 + 3 }))).toBe(true);
  });
});
