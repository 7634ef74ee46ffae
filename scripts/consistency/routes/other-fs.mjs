// Point-in-time reads where the source is not btrfs: XFS reflink copies (per file: not atomic
// across files) and LVM thin snapshots (block level, atomic, but root, a volume group and a mount
// of the snapshot per cycle). Feasibility and cost on loop devices; every step's failure is
// reported, not hidden.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

function run(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: '1' },
  });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')}: ${(r.stderr || String(r.error)).trim().split('\n').slice(0, 3).join(' / ')}`,
    );
  return { ms, out: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** XFS on a loop image: `cp --reflink=always` of a 64 MiB file, 10 times; returns timings. */
export function xfsReflink(work) {
  const img = path.join(work, 'xfs.img');
  const mnt = path.join(work, 'xfs');
  fs.mkdirSync(mnt, { recursive: true });
  try {
    run('truncate', ['-s', '1G', img]);
    run('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
    run('mount', ['-o', 'loop', img, mnt]);
    fs.writeFileSync(path.join(mnt, 'db'), Buffer.alloc(64 * 2 ** 20, 7));
    const times = [];
    for (let i = 0; i < 10; i++)
      times.push(
        run('cp', ['--reflink=always', path.join(mnt, 'db'), path.join(mnt, `db.${i}`)]).ms,
      );
    return { ok: true, medianMs: median(times), maxMs: Math.max(...times) };
  } catch (e) {
    return { ok: false, error: e.message };
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(img, { force: true });
  }
}

/** LVM thin on a loop device: pool, thin volume with ext4, snapshots, mount of one; timings. */
export function lvmThin(work) {
  const img = path.join(work, 'lvm.img');
  const vg = `smrcons${process.pid}`;
  const mnt = path.join(work, 'lvm');
  const snapMnt = path.join(work, 'lvm-snap');
  fs.mkdirSync(mnt, { recursive: true });
  fs.mkdirSync(snapMnt, { recursive: true });
  let loop = null;
  const steps = [];
  try {
    run('truncate', ['-s', '2G', img]);
    loop = run('losetup', ['-f', '--show', img]).out.trim();
    run('pvcreate', ['-q', loop]);
    run('vgcreate', ['-q', vg, loop]);
    run('lvcreate', ['-q', '-L', '1G', '-T', `${vg}/pool`]);
    run('lvcreate', ['-q', '-V', '800M', '-T', `${vg}/pool`, '-n', 'data']);
    run('mkfs.ext4', ['-q', `/dev/${vg}/data`]);
    run('mount', [`/dev/${vg}/data`, mnt]);
    fs.writeFileSync(path.join(mnt, 'db'), Buffer.alloc(64 * 2 ** 20, 7));
    const snaps = [];
    for (let i = 0; i < 5; i++)
      snaps.push(run('lvcreate', ['-q', '-s', '-n', `s${i}`, `${vg}/data`]).ms);
    steps.push(`lvcreate -s median ${median(snaps).toFixed(0)} ms`);
    const act = run('lvchange', ['-q', '-ay', '-K', `${vg}/s0`]).ms;
    // The snapshot of a mounted ext4 is a crashed file system: mount it without journal replay.
    const mount = run('mount', ['-o', 'ro,noload', `/dev/${vg}/s0`, snapMnt]).ms;
    const same = fs.statSync(path.join(snapMnt, 'db')).size === 64 * 2 ** 20;
    return {
      ok: true,
      snapshotMedianMs: median(snaps),
      activateMs: act,
      mountMs: mount,
      readable: same,
    };
  } catch (e) {
    return { ok: false, error: e.message, steps };
  } finally {
    spawnSync('umount', [snapMnt]);
    spawnSync('umount', [mnt]);
    spawnSync('vgremove', ['-q', '-f', vg]);
    if (loop) {
      spawnSync('pvremove', ['-q', loop]);
      spawnSync('losetup', ['-d', loop]);
    }
    fs.rmSync(img, { force: true });
  }
}
