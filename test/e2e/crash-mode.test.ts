// Crash mode (`connect --consistency crash`) on a real btrfs source (a loop-mounted image, root):
// status says crash, every change of a cycle is read from a snapshot and reaches the replica as a
// group, `wait --for group` returns once the target applied one, the trees end equal (independent
// walk), the source keeps no more than the snapshots it reads, and a queue-task runs on the
// replica at a group boundary. The database-under-crashes acceptance is
// test/e2e/consistency.test.ts; off btrfs, test/e2e/consistency-flag.test.ts.
import { execFile } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, promises as fsp, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  onCleanup,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
        : resolve(stdout),
    ),
  );
}

/** A btrfs image mounted through a loop device, with subvolume `vol`; unmounted at cleanup. */
async function btrfsSubvolume(): Promise<string> {
  const dir = await tmp('smr-btrfs-');
  const image = path.join(dir, 'fs.img');
  const mnt = path.join(dir, 'mnt');
  await fsp.mkdir(mnt);
  await fsp.writeFile(image, '');
  await fsp.truncate(image, 512 * 1024 * 1024);
  await run('mkfs.btrfs', ['-q', image]);
  await run('mount', ['-o', 'loop', image, mnt]);
  onCleanup(async () => {
    await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
  });
  const vol = path.join(mnt, 'vol');
  await run('btrfs', ['subvolume', 'create', vol]);
  return vol;
}

async function waitGroup(stateDir: string, name: string): Promise<void> {
  const r = await smr([
    'wait',
    name,
    '--for',
    'group',
    '--timeout',
    '60s',
    '--state-dir',
    stateDir,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

/** Slots of the task test's writer. */
const SLOTS = 5;
const pad = (n: number): string => String(n).padStart(12, '0');

/**
 * Writes 1, 2, 3, ... each into slot x(i % SLOTS) and then into `latest`, in place (one 12-byte
 * pwrite each, so every state holds whole values), each write made durable (fdatasync) before the
 * next: a crash state — which is what crash mode promises, and what a btrfs snapshot is: it
 * holds each file's data as written back when it was taken, so writes not yet synced may be in it
 * or not, in any mix — then never has a `latest` ahead of its slot. stop() resolves with the last
 * value written.
 */
function startSlotWriter(dir: string): { stop(): Promise<number> } {
  const fds = [...Array(SLOTS).keys()].map((j) => openSync(path.join(dir, `x${j}`), 'r+'));
  const latest = openSync(path.join(dir, 'latest'), 'r+');
  let i = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      i++;
      const slot = fds[i % SLOTS] as number;
      writeSync(slot, pad(i), 0);
      fdatasyncSync(slot);
      writeSync(latest, pad(i), 0);
      fdatasyncSync(latest);
      await new Promise((r) => setTimeout(r, 1));
    }
    for (const fd of [...fds, latest]) closeSync(fd);
    return i;
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

async function readSlots(dir: string): Promise<{ latest: number; x: number[] }> {
  const num = async (n: string): Promise<number> =>
    Number(await fsp.readFile(path.join(dir, n), 'utf8'));
  const x = await Promise.all([...Array(SLOTS).keys()].map((j) => num(`x${j}`)));
  return { latest: await num('latest'), x };
}

/**
 * Null when `state` is a crash state of the slot writer: `latest` = L, slot L % SLOTS holds L (it
 * was synced before L was written to `latest`), and every other slot the largest value v <= L with
 * v % SLOTS its number — or, for the next slot, L + 1 (written, synced or not, after L).
 */
function sourceStateError(state: { latest: number; x: number[] }): string | null {
  const L = state.latest;
  for (const top of [L, L + 1]) {
    const want = state.x.map((_, j) => {
      const v = top - ((((top - j) % SLOTS) + SLOTS) % SLOTS);
      return v > 0 ? v : 0;
    });
    if (want.every((v, j) => v === state.x[j])) return null;
  }
  return `latest ${L} with slots ${state.x.join(',')}: not a state the source had`;
}

describe('crash mode on btrfs', () => {
  it('replicates a group at a time from snapshots; wait --for group; trees equal', async () => {
    const vol = await btrfsSubvolume();
    // A directory below the subvolume: the snapshots live at the subvolume's root, outside it.
    const src = path.join(vol, 'data');
    await write(path.join(src, 'a.txt'), 'first\n');
    await write(path.join(src, 'dir', 'b.bin'), Buffer.alloc(300_000, 7));
    const t = await startTarget();
    const s = await startSource();
    const r = await connect(s, 'app', t, src, ['--consistency', 'crash']);
    expect(r.json.consistency).toBe('crash');
    await waitSynced(s, 'app');
    const replica = path.join(t.root, 'app');
    await expectSameTree(src, replica);

    // Changes of every kind: new, in place, renamed, deleted, a new directory tree.
    await write(path.join(src, 'a.txt'), 'second\n');
    const fh = await fsp.open(path.join(src, 'dir', 'b.bin'), 'r+');
    await fh.write(Buffer.alloc(4096, 9), 0, 4096, 100_000);
    await fh.close();
    await fsp.rename(path.join(src, 'dir'), path.join(src, 'moved'));
    await write(path.join(src, 'new', 'deep', 'c.txt'), 'c\n');
    await fsp.rm(path.join(src, 'a.txt'));
    await waitGroup(s.stateDir, 'app');
    await expectSameTree(src, replica);

    const st = await status(s, 'app');
    expect(st.consistency).toBe('crash');
    expect(st.targetState).toBe('ok');
    expect(st.groups.acked).toBeGreaterThan(1);
    expect(st.groups.last).toBeGreaterThanOrEqual(st.groups.acked);
    expect(typeof st.groups.point).toBe('string');
    // The source keeps the snapshot it reads (and, in a cycle, the one before).
    const snaps = await fsp.readdir(path.join(vol, '.smr-snapshots', 'app'));
    expect(snaps.length).toBeGreaterThanOrEqual(1);
    expect(snaps.length).toBeLessThanOrEqual(2);
    // The replica never holds the source's snapshots.
    expect(await fsp.readdir(replica)).not.toContain('.smr-snapshots');
    // Disconnecting deletes them.
    const d = await smr(['disconnect', 'app', '--state-dir', s.stateDir]);
    expect(d.code, d.stderr).toBe(0);
    await expect(fsp.access(path.join(vol, '.smr-snapshots', 'app'))).rejects.toThrow();
  }, 120_000);

  it('a crash-mode connection at the subvolume root leaves the snapshots out', async () => {
    const vol = await btrfsSubvolume();
    await write(path.join(vol, 'x.txt'), 'x\n');
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'root', t, vol, ['--consistency', 'crash']);
    await waitSynced(s, 'root');
    await write(path.join(vol, 'y.txt'), 'y\n');
    await waitGroup(s.stateDir, 'root');
    const replica = path.join(t.root, 'root');
    expect((await fsp.readdir(replica)).sort()).toEqual(['x.txt', 'y.txt']);
    expect(await fsp.readFile(path.join(replica, 'y.txt'), 'utf8')).toBe('y\n');
  }, 120_000);

  it('a queue-task --on execute sees the replica at a group boundary, a state the source had', async () => {
    const vol = await btrfsSubvolume();
    const src = path.join(vol, 'data');
    const work = await tmp('smr-task-boundary-');
    const tasks = path.join(work, 'tasks');
    const copies = path.join(work, 'copies');
    await fsp.mkdir(tasks);
    await fsp.mkdir(copies);
    await fsp.writeFile(
      path.join(tasks, 'copy.sh'),
      `#!/bin/sh\nset -e\ncp -a "$SMR_TARGET_PATH" "${copies}/$SMR_TASK_ID"\n`,
      { mode: 0o755 },
    );
    await write(path.join(src, 'latest'), pad(0));
    for (let j = 0; j < SLOTS; j++) await write(path.join(src, `x${j}`), pad(0));
    const t = await startTarget({ extra: ['--allow-tasks', '--tasks-dir', tasks] });
    const s = await startSource();
    await connect(s, 'app', t, src, ['--consistency', 'crash']);
    await waitSynced(s, 'app');
    // A writer that moves the tree through states with an invariant (below) that a mix of two
    // instants breaks: value i goes to slot x(i % SLOTS), then to `latest`, one write each.
    const writer = startSlotWriter(src);
    onCleanup(async () => void (await writer.stop()));
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 150 + k * 70));
      const r = await smr([
        'queue-task',
        'app',
        '--wait',
        '--json',
        '--state-dir',
        s.stateDir,
        '--',
        'copy.sh',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.state).toBe('succeeded');
    }
    const last = await writer.stop();
    expect(last).toBeGreaterThan(SLOTS * 3); // the writer really ran through the tasks
    const seen = await fsp.readdir(copies);
    expect(seen).toHaveLength(5);
    for (const id of seen) {
      const state = await readSlots(path.join(copies, id));
      expect(sourceStateError(state), `task ${id}: ${JSON.stringify(state)}`).toBeNull();
    }
  }, 180_000);

  it('wait --for group on a file-mode connection exits 2', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'plain', t, dir);
    const r = await smr(['wait', 'plain', '--for', 'group', '--state-dir', s.stateDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no groups in file mode/);
  });
});
