// Read-only btrfs snapshots of the subvolume holding a crash-mode connection's path
// (docs/CONSISTENCY.md, "Design of crash mode"): each capture cycle reads from one, so every file
// of a group is read as it was at one instant. btrfs-progs does the work (one short fork per
// snapshot, a few ms against the snapshot's own 8-9 ms commit).
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';

/** statfs f_type of btrfs. */
const BTRFS_MAGIC = 0x9123683e;
/** The inode number of every btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
const SUBVOLUME_ROOT_INO = 256;
/** Where a subvolume's snapshots live, below its root (excluded from capture when inside the path). */
export const SNAPSHOT_DIR = '.smr-snapshots';

/** Where a connection's snapshots are taken from and kept. */
export interface SnapshotPlace {
  /** The subvolume root holding the source path. */
  subvolume: string;
  /** The source path below the subvolume root ('' when it is the root). */
  below: string;
  /** This connection's snapshot directory. */
  dir: string;
}

function needsBtrfs(srcPath: string, why: string): SmrError {
  return new SmrError(
    'usage',
    `--consistency crash needs a btrfs subvolume; see docs/CONSISTENCY.md (${srcPath}: ${why})`,
    'put the data in a btrfs subvolume, or use --consistency file',
  );
}

function btrfs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('btrfs', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`btrfs ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Finds the subvolume holding `srcPath`; throws SmrError('usage') when it is not on btrfs. */
export async function snapshotPlace(srcPath: string, connection: string): Promise<SnapshotPlace> {
  const fsStat = await fsp.statfs(srcPath).catch(() => null);
  if (!fsStat || fsStat.type !== BTRFS_MAGIC) throw needsBtrfs(srcPath, 'not on btrfs');
  let dir = srcPath;
  let st = await fsp.stat(dir);
  while (st.ino !== SUBVOLUME_ROOT_INO) {
    const up = path.dirname(dir);
    const ust = await fsp.stat(up);
    if (up === dir || ust.dev !== st.dev) break; // the file system's top: snapshot it as it is
    dir = up;
    st = ust;
  }
  const below = path.relative(dir, srcPath).split(path.sep).filter(Boolean).join('/');
  return { subvolume: dir, below, dir: path.join(dir, SNAPSHOT_DIR, connection) };
}

/** Makes and deletes one test snapshot: crash mode is refused when the daemon cannot. */
export async function probeSnapshots(place: SnapshotPlace, srcPath: string): Promise<void> {
  const snaps = new Snapshots(place);
  try {
    await snaps.take(0);
    await snaps.drop(0);
  } catch (err) {
    throw needsBtrfs(srcPath, `a test snapshot failed: ${(err as Error).message}`);
  }
}

/** The snapshots of one connection, named by group. */
export class Snapshots {
  constructor(readonly place: SnapshotPlace) {}

  /** Path of group `n`'s snapshot. */
  pathOf(n: number): string {
    return path.join(this.place.dir, `g${n}`);
  }

  /** Where capture reads the source path inside group `n`'s snapshot. */
  readRoot(n: number): string {
    return path.join(this.pathOf(n), ...this.place.below.split('/').filter(Boolean));
  }

  /** Takes group `n`'s read-only snapshot (an earlier one of that name, left by a crash, goes). */
  async take(n: number): Promise<void> {
    await fsp.mkdir(this.place.dir, { recursive: true, mode: 0o700 });
    await this.drop(n);
    await btrfs(['subvolume', 'snapshot', '-r', this.place.subvolume, this.pathOf(n)]);
  }

  /** Deletes group `n`'s snapshot if there is one (the kernel reclaims its space later). */
  async drop(n: number): Promise<void> {
    const p = this.pathOf(n);
    if (!(await fsp.lstat(p).catch(() => null))) return;
    await btrfs(['subvolume', 'delete', p]);
  }

  /** The groups whose snapshots a previous run left behind. */
  async left(): Promise<number[]> {
    const names = await fsp.readdir(this.place.dir).catch(() => [] as string[]);
    return names.flatMap((n) => (/^g\d+$/.test(n) ? [Number(n.slice(1))] : []));
  }

  /** Deletes every snapshot of this connection (disconnect, or a restart's clean slate). */
  async dropAll(except: number[] = []): Promise<void> {
    for (const n of await this.left()) {
      if (except.includes(n)) continue;
      await this.drop(n).catch((err: Error) => log.warn(`crash mode: ${err.message}`));
    }
  }
}
