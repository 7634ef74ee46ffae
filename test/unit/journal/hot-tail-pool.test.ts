// Issue 18: the hot tail must not keep slices of Node's shared 8 KiB buffer pool. A small record's
// head (and its data, when not handed over) is a pool slice; kept as it was, each one pinned a
// whole slab, and a 16 MiB tail of small records held 40-60 MiB of ArrayBuffers.
import { describe, expect, it } from 'vitest';
import { HotTail } from '../../../src/journal/hot-tail.js';
import { encodeEntry, sealRecord } from '../../../src/journal/record.js';
import type { Segment } from '../../../src/journal/segment.js';

const seg = {} as Segment; // only stored alongside the record

describe('HotTail and the buffer pool', () => {
  it('keeps copies of a small record, never the pool slab it came in', () => {
    const tail = new HotTail(1024 * 1024);
    const data = Buffer.from('small file content');
    expect(data.buffer.byteLength).toBeGreaterThan(data.length); // a pool slice indeed
    const enc = encodeEntry({ kind: 'put', meta: { p: 'd/f', off: 0 }, data });
    sealRecord(enc, 1);
    expect(enc.head.buffer.byteLength).toBeGreaterThan(enc.head.length);
    tail.add(1, enc, seg, 0);
    const kept = tail.get(1);
    expect(kept?.head.equals(enc.head)).toBe(true);
    expect(kept?.data?.equals(data)).toBe(true);
    expect(kept?.head.buffer).not.toBe(enc.head.buffer);
    expect(kept?.data?.buffer).not.toBe(data.buffer);
  });
});
