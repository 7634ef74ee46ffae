// Hard-link grouping against a listing: names of one source inode must share one target inode,
// and a target inode shared inside the replica must belong to one source inode.
import { describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { LinkGrouping } from '../../../src/source/link-groups.js';

const file = (path: string, inode?: string): ListEntry => ({
  path,
  type: 'file',
  size: 1,
  mtimeMs: 1,
  mode: 0o644,
  ...(inode === undefined ? {} : { inode }),
});
const st = (ino: number, nlink: number) => ({ dev: 1, ino, nlink, isFile: () => true });

/** The names `differs` flags, scanning `names` in order with their source inode and link count. */
function flagged(listing: ListEntry[], names: Array<[string, number, number]>): string[] {
  const g = new LinkGrouping(listing);
  const byPath = new Map(listing.map((t) => [t.path, t]));
  return names.filter(([p, ino, n]) => g.differs(st(ino, n), byPath.get(p))).map(([p]) => p);
}

describe('LinkGrouping', () => {
  it('finds nothing when both sides group alike', () => {
    const listing = [file('a', '9:1'), file('b', '9:1'), file('c')];
    expect(
      flagged(listing, [
        ['a', 5, 2],
        ['b', 5, 2],
        ['c', 6, 1],
      ]),
    ).toEqual([]);
  });

  it('flags a later name of a source group that the target holds apart', () => {
    const listing = [file('a'), file('b'), file('c', '9:2'), file('d', '9:3')];
    expect(
      flagged(listing, [
        ['a', 5, 2],
        ['b', 5, 2],
        ['c', 6, 2],
        ['d', 6, 2],
      ]),
    ).toEqual(['b', 'd']);
  });

  it('flags a name the target links to a name the source keeps apart', () => {
    const listing = [file('a', '9:1'), file('b', '9:1')];
    expect(
      flagged(listing, [
        ['a', 5, 1],
        ['b', 6, 1],
      ]),
    ).toEqual(['b']);
  });

  it('ignores target links to names outside the listing (a hard-link snapshot)', () => {
    const listing = [file('a', '9:1'), file('b', '9:2')];
    expect(
      flagged(listing, [
        ['a', 5, 1],
        ['b', 6, 1],
      ]),
    ).toEqual([]);
  });
});
