// Listing and walking trees with names as bytes, so a name that is not valid UTF-8 is seen as it is.
import { promises as fsp, type Dirent } from 'node:fs';
import { fsPath, pathBytes, type FsPath } from './paths.js';

const SLASH = Buffer.from('/');
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
  const list = await fsp.readdir(fsPath(dir), { encoding: 'buffer', withFileTypes: true });
  return list
    .map((d) => ({ name: d.name, type: direntType(d) }))
    .sort((a, b) => Buffer.compare(a.name, b.name));
}

/**
 * Every entry under root, parents before children, in byte order, never following a symlink.
 * An explicit stack rather than recursion (each level of `yield*` re-delivers every entry), and
 * memory holds one listing per level being walked, not the tree.
 */
export async function* walkBytes(root: FsPath): AsyncGenerator<WalkEntry> {
  const base = withSlash(pathBytes(root));
  const stack: Array<{ rel: Buffer; entries: ByteDirent[]; next: number }> = [
    { rel: Buffer.alloc(0), entries: await readdirBytes(root), next: 0 },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const d = top.entries[top.next++];
    if (d === undefined) {
      stack.pop();
      continue;
    }
    const rel = top.rel.length === 0 ? d.name : Buffer.concat([top.rel, d.name]);
    const path = Buffer.concat([base, rel]);
    yield { name: d.name, type: d.type, path, rel };
    if (d.type === 'dir')
      stack.push({ rel: withSlash(rel), entries: await readdirBytes(path), next: 0 });
  }
}

function withSlash(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] !== 0x2f ? Buffer.concat([b, SLASH]) : b;
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
