// Creating the entries Node's fs cannot: fifos, sockets and device nodes (mknod), and hard links.
import { linkSync } from 'node:fs';
import { makeDev, typeBits } from './entry-type.js';
import { mknod } from './libc.js';
import { isRefusal, whoAmI } from './not-applied.js';
import { displayPath, fsPath, type FsPath } from './paths.js';
import type { DeviceNumber, EntryType } from './types.js';

/** Special entries makeNodeSync creates. */
export type NodeType = Extract<EntryType, 'fifo' | 'socket' | 'char' | 'block'>;

/** Whether a node was made, or why not (never silent: the caller logs and counts a skip). */
export type NodeResult = { created: true } | { skipped: string };

/**
 * mknod for a fifo, socket (an inert socket node, as rsync makes) or device. Devices need root
 * (CAP_MKNOD): without it they are skipped with a reason, not attempted. The umask applies to
 * `mode`; applyMetaSync sets the exact mode afterwards.
 */
export function makeNodeSync(
  p: FsPath,
  type: NodeType,
  mode: number,
  rdev?: DeviceNumber,
): NodeResult {
  const isDevice = type === 'char' || type === 'block';
  if (isDevice && process.geteuid?.() !== 0) {
    return {
      skipped: `${type} device ${displayPath(p)} not created: device nodes need root (${whoAmI()})`,
    };
  }
  if (isDevice && rdev === undefined) {
    return { skipped: `${type} device ${displayPath(p)} not created: no device number was given` };
  }
  try {
    mknod(p, typeBits(type) | (mode & 0o7777), isDevice && rdev ? makeDev(rdev) : 0n);
    return { created: true };
  } catch (err) {
    // A root without CAP_MKNOD (a container) is refused like a user.
    if (!isRefusal(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return {
      skipped: `${type} ${displayPath(p)} not created: mknod refused with ${code} (${whoAmI()})`,
    };
  }
}

/** A new name for an existing inode; a symlink is linked itself, never its target. */
export function makeHardLinkSync(existing: FsPath, newPath: FsPath): void {
  linkSync(fsPath(existing), fsPath(newPath));
}
