// Directory mtimes on the replica come from the source only. Creating, renaming or deleting an
// entry changes its directory's mtime, so an op that does is bracketed: the directory's mtime is
// read before and set back after. The source sends a directory's own new mtime (an `attr` op)
// when the source's changes; a mirror sets it before the directory's entries arrive, and this
// keeps it (rsync sets directory times in a final pass, touch_up_dirs, for the same reason).
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { setMtimeNsSync } from '../fsmeta/index.js';
import type { Op } from '../protocol/ops.js';
import { fsPath } from '../fsmeta/index.js';

/** Directories (absolute) and the mtimes they had before an op. */
export type SavedTimes = Array<[string, bigint]>;

/** Relative paths of the entries an op may create, rename or remove. */
function entriesOf(op: Op): string[] {
  switch (op.kind) {
    case 'put':
    case 'delta':
      return op.meta.first || op.meta.end ? [op.meta.p] : [];
    case 'files':
      return op.meta.files.map((f) => f.p);
    case 'mkdir':
    case 'symlink':
    case 'link':
    case 'mknod':
    case 'delete':
    case 'rmdir':
      return [op.meta.p];
    case 'rename':
      return [op.meta.from, op.meta.to];
    default:
      return [];
  }
}

/** The mtimes of the directories holding the entries `op` may change, read now. */
export function saveParentTimes(base: string, op: Op): SavedTimes {
  const out: SavedTimes = [];
  // (A `files` op names up to 1,024 entries, most in a few directories: each is looked at once.)
  const seen = new Set<string>();
  for (const rel of entriesOf(op)) {
    const i = rel.lastIndexOf('/');
    const parent = i < 0 ? '' : rel.slice(0, i);
    if (seen.has(parent)) continue;
    seen.add(parent);
    const dir = i < 0 ? base : path.join(base, ...parent.split('/'));
    try {
      const st = lstatSync(fsPath(dir), { bigint: true });
      if (st.isDirectory()) out.push([dir, st.mtimeNs]);
    } catch {
      // Not there yet (the op creates it) or not a directory: nothing to keep.
    }
  }
  return out;
}

/** Sets the saved mtimes back, where the op changed them. */
export function restoreParentTimes(saved: SavedTimes): void {
  for (const [dir, ns] of saved) {
    try {
      const st = lstatSync(fsPath(dir), { bigint: true });
      if (st.isDirectory() && st.mtimeNs !== ns) setMtimeNsSync(dir, ns);
    } catch {
      // Removed by the op (a tree deleted or moved away): nothing to restore.
    }
  }
}
