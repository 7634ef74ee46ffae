// Where the snapshots of a replica are, for a restore that reads one instead of the replica: the
// folder the shipped snapshot tasks fill beside it (`<replica>.snapshots/NAME`: snapshot-copy.sh,
// snapshot-btrfs.sh), or a ZFS dataset's own snapshot folder inside it (`<replica>/.zfs/snapshot/NAME`).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { MAX_SNAPSHOT_NAMES } from '../protocol/restore-requests.js';
import { fsPath } from '../fsmeta/index.js';

/** The folders that may hold snapshots of the replica at `base`, in the order they are searched. */
function snapshotFolders(base: string): string[] {
  return [`${base}.snapshots`, path.join(base, '.zfs', 'snapshot')];
}

// A real directory (never a symlink: a link could lead a restore anywhere on the target).
async function isRealDir(p: string): Promise<boolean> {
  const st = await fsp.lstat(fsPath(p)).catch(() => null);
  return st !== null && st.isDirectory() && !st.isSymbolicLink();
}

/** The directory of snapshot `name` (a checked single component) of the replica at `base`. */
export async function snapshotBase(base: string, name: string): Promise<string> {
  for (const folder of snapshotFolders(base)) {
    const dir = path.join(folder, name);
    if ((await isRealDir(folder)) && (await isRealDir(dir))) return dir;
  }
  throw new SmrError(
    'path-refused',
    `no snapshot "${name}" of this replica (looked in ${snapshotFolders(base).join(' and ')})`,
  );
}

/** The names of the snapshots of the replica at `base`, sorted (the shipped tasks' names sort by age). */
export async function snapshotNamesOf(base: string): Promise<string[]> {
  const names = new Set<string>();
  for (const folder of snapshotFolders(base)) {
    if (!(await isRealDir(folder))) continue;
    for (const d of await fsp.readdir(fsPath(folder), { withFileTypes: true }).catch(() => []))
      if (d.isDirectory() && /^[A-Za-z0-9._-]{1,255}$/.test(d.name) && !d.name.endsWith('.partial'))
        names.add(d.name);
  }
  return [...names].sort().slice(-MAX_SNAPSHOT_NAMES);
}
