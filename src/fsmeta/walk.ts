// Listing and walking trees with names as bytes, so a name that is not valid UTF-8 is seen as it is.
import { promises as fsp, type Dirent } from 'node:fs';
import { joinBytes, pathBytes, type FsPath } from './paths.js';
import type { EntryType } from './types.js';

/** One directory entry; `type` is 'unknown' where the filesystem does not say (then lstat it). */
export interface ByteDirent {
  name: Buffer;
  type: EntryType | 'unknown';
}

/** One entry met by walkBytes: its path, its path relative to the root, and its type. */
export interface WalkEntry extends ByteDirent {
  path: Buffer;
  rel: Buffer;
}

/** A directory's entries, names as bytes, sorted by byte order (stable across runs and hosts). */
export async function readdirBytes(dir: FsPath): Promise<ByteDirent[]> {
  const list = await fsp.readdir(dir, { encoding: 'buffer', withFileTypes: true });
  return list
    .map((d) => ({ name: d.name, type: direntType(d) }))
    .sort((a, b) => Buffer.compare(a.name, b.name));
}

/**
 * Every entry under root, parents before children, never following a symlink. Memory holds one
 * listing per level being walked, not the tree.
 */
export async function* walkBytes(
  root: FsPath,
  rel: Buffer = Buffer.alloc(0),
): AsyncGenerator<WalkEntry> {
  const base = pathBytes(root);
  for (const d of await readdirBytes(joinBytes(base, rel))) {
    const childRel = rel.length === 0 ? Buffer.from(d.name) : joinBytes(rel, d.name);
    yield { ...d, path: joinBytes(base, childRel), rel: childRel };
    if (d.type === 'dir') yield* walkBytes(base, childRel);
  }
}

function direntType(d: Dirent<Buffer>): ByteDirent['type'] {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isCharacterDevice()) return 'char';
  if (d.isBlockDevice()) return 'block';
  return 'unknown';
}
