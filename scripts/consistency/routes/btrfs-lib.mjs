// btrfs helpers for the point-in-time-read prototype: a loop-mounted btrfs image, and read-only
// snapshots made and deleted in-process with the btrfs ioctls (through koffi, which smr already
// ships), so a capture cycle pays no fork/exec of `btrfs`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import koffi from 'koffi';

// _IOW(0x94, nr, 4096-byte struct): both argument structs are 4096 bytes.
const IOW4096 = (nr) => (1 << 30) | (4096 << 16) | (0x94 << 8) | nr;
const BTRFS_IOC_SNAP_CREATE_V2 = IOW4096(23);
const BTRFS_IOC_SNAP_DESTROY = IOW4096(15);
const BTRFS_SUBVOL_RDONLY = 2n;

const libc = koffi.load(null);
const ioctl = libc.func('int ioctl(int fd, unsigned long req, uint8_t *arg)');

/** Runs a command; throws with its output when it fails. */
export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

/** Makes a `sizeGiB` btrfs image in `dir`, mounts it, creates subvolume `data`; returns paths. */
export function mountBtrfs(dir, sizeGiB = 4) {
  const img = path.join(dir, 'btrfs.img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt, { recursive: true });
  sh('truncate', ['-s', `${sizeGiB}G`, img]);
  sh('mkfs.btrfs', ['-q', img]);
  sh('mount', ['-o', 'loop', img, mnt]);
  sh('btrfs', ['subvolume', 'create', path.join(mnt, 'data')]);
  fs.mkdirSync(path.join(mnt, 'snaps'));
  return { img, mnt, data: path.join(mnt, 'data'), snaps: path.join(mnt, 'snaps') };
}

/** Unmounts and removes what mountBtrfs made. */
export function unmountBtrfs(m) {
  spawnSync('umount', [m.mnt]);
  fs.rmSync(m.img, { force: true });
}

/** A read-only snapshot of subvolume `src` named `name` in directory `dstDir` (one ioctl). */
export function snapshot(src, dstDir, name) {
  const sfd = fs.openSync(src, 'r');
  const dfd = fs.openSync(dstDir, 'r');
  try {
    const a = Buffer.alloc(4096);
    a.writeBigInt64LE(BigInt(sfd), 0);
    a.writeBigUInt64LE(BTRFS_SUBVOL_RDONLY, 16);
    a.write(name, 56, 'utf8');
    if (ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, a) !== 0)
      throw new Error(`snapshot ${name}: errno ${koffi.errno()}`);
  } finally {
    fs.closeSync(sfd);
    fs.closeSync(dfd);
  }
}

/** Deletes snapshot `name` in `dir` (one ioctl; the space is reclaimed in the background). */
export function deleteSnapshot(dir, name) {
  const dfd = fs.openSync(dir, 'r');
  try {
    const a = Buffer.alloc(4096);
    a.write(name, 8, 'utf8');
    if (ioctl(dfd, BTRFS_IOC_SNAP_DESTROY, a) !== 0)
      throw new Error(`delete ${name}: errno ${koffi.errno()}`);
  } finally {
    fs.closeSync(dfd);
  }
}

/** The subvolume's generation (transid) now, from `btrfs subvolume find-new PATH 99999999`. */
export function generation(sub) {
  const out = sh('btrfs', ['subvolume', 'find-new', sub, '99999999']);
  return Number(/transid marker was (\d+)/.exec(out)?.[1]);
}
