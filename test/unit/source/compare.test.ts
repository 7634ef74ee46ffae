// The comparison helpers behind verify, orphans and the mirror: bytes out of sync between two
// block-hash lists, orphans (excluded paths protected), and the one brake every deletion passes.
import { describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { deletionBrake } from '../../../src/source/brake.js';
import { bytesOutOfSync, orphansOf } from '../../../src/source/compare.js';
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

describe('deletionBrake', () => {
  const base = { targetEntries: 10, sourceEntries: 5, base: '/src' };

  it('lets nothing, or up to half, through', () => {
    expect(deletionBrake({ ...base, deletes: 0, sourceEntries: 0 })).toBeNull();
    expect(deletionBrake({ ...base, deletes: 5 })).toBeNull();
  });

  it('refuses more than the share, and anything at all for an empty source', () => {
    expect(deletionBrake({ ...base, deletes: 6 })).toMatch(/6 of 10 .* more than 50%/);
    expect(deletionBrake({ ...base, deletes: 3, maxShare: 0.2 })).toMatch(/more than 20%/);
    expect(deletionBrake({ ...base, deletes: 1, sourceEntries: 0 })).toMatch(/empty or missing/);
  });

  it('lets everything through with --force', () => {
    expect(deletionBrake({ ...base, deletes: 10, sourceEntries: 0, force: true })).toBeNull();
  });
});
