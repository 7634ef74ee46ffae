// Real small file systems for the disk-full tests: ext4 in an image file mounted through a loop
// device (root only), or tmpfs with a size limit when loop devices are missing. Each mount is
// undone by the harness's cleanup, also when the test failed.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { onCleanup, tmp } from './harness.js';

/** A mounted small file system. */
export interface SmallFs {
  /** The mount point. */
  dir: string;
  kind: 'ext4' | 'tmpfs';
  /** `mount -o remount,OPTS` (e.g. "ro", "rw"). */
  remount(opts: string): Promise<void>;
  /** Bytes free (ext4 is made without reserved blocks, so root sees the same). */
  freeBytes(): Promise<number>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
        : resolve(stdout),
    ),
  );
}

async function unmount(dir: string): Promise<void> {
  // A lazy unmount if something still holds it (a daemon the cleanup has not reaped yet).
  await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
}

async function mountExt4(dir: string, sizeMiB: number): Promise<void> {
  const image = path.join(path.dirname(dir), 'fs.img');
  await fsp.writeFile(image, '');
  await fsp.truncate(image, sizeMiB * 1024 * 1024);
  // No reserved blocks: the target runs as root, and root may write into them.
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  await run('mount', ['-o', 'loop', image, dir]);
}

/**
 * Mounts a file system of `sizeMiB` (ext4 on a loop device, else tmpfs) and registers its unmount.
 * Throws when neither can be mounted here.
 */
export async function mountSmallFs(sizeMiB: number, only?: 'ext4' | 'tmpfs'): Promise<SmallFs> {
  const dir = path.join(await tmp('smr-smallfs-'), 'mnt');
  await fsp.mkdir(dir);
  let kind: SmallFs['kind'] = 'ext4';
  try {
    if (only === 'tmpfs') throw new Error('tmpfs asked for');
    await mountExt4(dir, sizeMiB);
  } catch (err) {
    if (only === 'ext4') throw err;
    kind = 'tmpfs';
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'smr-test', dir]);
  }
  onCleanup(() => unmount(dir));
  return {
    dir,
    kind,
    remount: async (opts) => void (await run('mount', ['-o', `remount,${opts}`, dir])),
    freeBytes: async () => {
      const st = await fsp.statfs(dir);
      return st.bavail * st.bsize;
    },
  };
}

/**
 * Why no small file system can be mounted here (null when one can): tried for real, once, with a
 * 4 MiB ext4 on a loop device and then tmpfs.
 */
export async function smallFsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const errors: string[] = [];
  for (const kind of ['ext4', 'tmpfs'] as const) {
    try {
      const fs = await mountSmallFs(4, kind);
      await unmount(fs.dir);
      return null;
    } catch (err) {
      errors.push(`${kind}: ${(err as Error).message}`);
    }
  }
  return `cannot mount a small file system (${errors.join('; ')})`;
}
