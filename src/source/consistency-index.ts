// The index as a crash-mode capture sees it. Capture reads every cycle from a new btrfs snapshot,
// and each snapshot is its own subvolume with its own st_dev (inode numbers are kept): compared
// with the dev recorded at the previous cycle, every file would look replaced and go whole, and
// no rename would be found. Every path of a crash-mode connection lies in one subvolume, so the
// device carries no information there: entries are stored with dev 0 and read back with the dev
// of the snapshot capture reads now.
//
// And a file whose mtime is within a clock tick of the snapshot it was read from may be written
// again after the snapshot without its mtime moving (the kernel stamps from a coarse clock): its
// size and mtime would then match the next snapshot's and the write be skipped — a database page
// missing from the replica ("row missing from index", measured). Such entries are stored with
// mtime 0, so the next check compares the file's blocks (the "racy git" rule).
import type { IndexedPath, IndexEntry, PathIndex } from '../index/index.js';

/** Device number stored for every entry of a crash-mode connection. */
const STORED_DEV = 0n;

/**
 * `index` with devices mapped to `readDev()` (the current snapshot's st_dev) on every read, and
 * file mtimes at or after `racyFloorNs()` (the current snapshot's time less a margin) not trusted.
 */
export function snapshotDevIndex(
  index: PathIndex,
  readDev: () => bigint,
  racyFloorNs: () => bigint,
): PathIndex {
  const view = (e: IndexEntry): IndexEntry => ({ ...e, dev: readDev() });
  const rows = function* (it: Generator<IndexedPath>): Generator<IndexedPath> {
    for (const r of it) yield { path: r.path, entry: view(r.entry) };
  };
  const overrides: Partial<Record<keyof PathIndex, unknown>> = {
    get: (p: Buffer) => {
      const e = index.get(p);
      return e && view(e);
    },
    put: (p: Buffer, e: IndexEntry, blocks?: Parameters<PathIndex['put']>[2]) => {
      const racy = e.type === 'file' && e.mtimeNs >= racyFloorNs();
      index.put(p, { ...e, dev: STORED_DEV, ...(racy ? { mtimeNs: 0n } : {}) }, blocks);
    },
    findByInode: (_dev: bigint, ino: bigint) =>
      index.findByInode(STORED_DEV, ino).map((r) => ({ path: r.path, entry: view(r.entry) })),
    entries: (o?: Parameters<PathIndex['entries']>[0]) => rows(index.entries(o)),
    children: (dir: Buffer) => rows(index.children(dir)),
  };
  return new Proxy(index, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof PathIndex];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
