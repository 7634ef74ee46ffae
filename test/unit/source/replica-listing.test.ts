// A listing merged with a scan while it still arrives: what it holds of a path is final only once
// it is complete, or (in path order) once it has gone past that path.
import { afterEach, describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { ReplicaListing } from '../../../src/source/replica-listing.js';

const file = (p: string, inode?: string): ListEntry => ({
  path: p,
  type: 'file',
  size: 1,
  mtimeMs: 0,
  mode: 0o644,
  ...(inode ? { inode } : {}),
});

let listing: ReplicaListing | null = null;
afterEach(() => listing?.close());

describe('ReplicaListing while it arrives', () => {
  it('covers a path once an ordered listing went past it, in path order', () => {
    listing = new ReplicaListing();
    expect(listing.covers('a')).toBe(false);
    listing.add([file('a'), file('a/b')], true);
    expect(listing.covers('a')).toBe(true);
    expect(listing.covers('a/b')).toBe(true);
    // 'a.b' comes after 'a/b' in path order ('/' first), 'a/c' too: not yet.
    expect(listing.covers('a.b')).toBe(false);
    expect(listing.covers('a/c')).toBe(false);
    expect(listing.covers('B')).toBe(true); // before 'a' by its byte
    listing.complete();
    expect(listing.covers('zzz')).toBe(true);
  });

  it('covers nothing of a listing not said to be ordered until it is complete', () => {
    listing = new ReplicaListing();
    listing.add([file('a'), file('b')], true);
    listing.add([file('0')], false); // an older target: any order
    expect(listing.covers('a')).toBe(false);
    listing.add([file('c')], true);
    expect(listing.covers('a')).toBe(false);
    listing.complete();
    expect(listing.covers('a')).toBe(true);
  });

  it('wakes a waiter as batches arrive, and fails it with the listing', async () => {
    listing = new ReplicaListing();
    const l = listing;
    let reached = false;
    const waiting = l.until('m').then(() => (reached = true));
    l.add([file('a')], true);
    await Promise.resolve();
    expect(reached).toBe(false);
    l.add([file('n')], true);
    await waiting;
    expect(reached).toBe(true);
    const failing = l.until('z');
    l.fail(new Error('dropped'));
    await expect(failing).rejects.toThrow('dropped');
    await expect(l.untilComplete()).rejects.toThrow('dropped');
  });

  it('takes entries out as the scan meets them, and counts what arrived', async () => {
    listing = new ReplicaListing();
    listing.add([file('a', '1:5'), file('b'), file('c', '1:5')], true);
    expect(listing.takeListed('a')?.path).toBe('a');
    expect(listing.takeListed('b')?.path).toBe('b');
    listing.complete();
    expect(listing.arrivedEntries).toBe(3);
    expect(listing.size).toBe(1);
    // Hard links grouped by all the names that arrived, those taken out included.
    const links = await listing.linkGroupingOnceComplete();
    const st = { dev: 9, ino: 9, nlink: 1, isFile: () => true };
    expect(links.differs(st, file('a', '1:5'))).toBe(false);
    expect(links.differs({ ...st, ino: 10 }, file('c', '1:5'))).toBe(true);
  });

  it('ignores batches of a listing that arrive after it was closed', () => {
    const l = new ReplicaListing();
    l.close();
    expect(() => l.add([file('a')], true)).not.toThrow();
  });
});
