// The comparison helpers behind verify, orphans and the mirror: bytes out of sync between two
// block-hash lists, orphans (excluded paths protected), and the brake on deleting them.
import { describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { bytesOutOfSync, orphanBrake, orphansOf } from '../../../src/source/compare.js';
import { makeFilter } from '../../../src/source/filter.js';

const h = (...xs: number[]) => BigUint64Array.from(xs.map(BigInt));

describe('bytesOutOfSync', () => {
  it('counts the bytes of differing blocks, the short last one and growth included', () => {
    expect(
      bytesOutOfSync({ size: 10, hashes: h(1, 2, 3) }, { size: 10, hashes: h(1, 2, 3) }, 4),
    ).toBe(0);
    expect(
      bytesOutOfSync({ size: 10, hashes: h(1, 9, 3) }, { size: 10, hashes: h(1, 2, 3) }, 4),
    ).toBe(4);
    expect(
      bytesOutOfSync({ size: 10, hashes: h(1, 2, 9) }, { size: 10, hashes: h(1, 2, 3) }, 4),
    ).toBe(2);
    expect(
      bytesOutOfSync({ size: 14, hashes: h(1, 2, 3, 4) }, { size: 8, hashes: h(1, 2) }, 4),
    ).toBe(6);
  });
});

describe('orphansOf', () => {
  const e = (path: string, type: ListEntry['type'] = 'file'): ListEntry => ({
    path,
    type,
    size: 0,
    mtimeMs: 0,
    mode: 0o644,
  });

  it('lists what is left, sorted, leaving excluded paths and what lies under them alone', () => {
    const rest = new Map(
      ['z', 'a.log', 'cache', 'cache/x', 'b'].map((p) => [p, e(p, p === 'cache' ? 'dir' : 'file')]),
    );
    const found = orphansOf(rest, makeFilter([], ['*.log', 'cache/**']));
    expect(found.map((o) => o.path)).toEqual(['b', 'z']);
  });
});

describe('orphanBrake', () => {
  const base = { targetEntries: 10, sourceEntries: 5, maxShare: 0.5, base: '/src' };

  it('lets nothing, or up to the share, through', () => {
    expect(orphanBrake({ ...base, orphans: 0, sourceEntries: 0 })).toBeNull();
    expect(orphanBrake({ ...base, orphans: 5 })).toBeNull();
  });

  it('refuses more than the share, and anything at all for an empty source', () => {
    expect(orphanBrake({ ...base, orphans: 6 })).toMatch(/6 of 10 .* more than 50%/);
    expect(orphanBrake({ ...base, orphans: 1, sourceEntries: 0 })).toMatch(/empty or missing/);
  });
});
