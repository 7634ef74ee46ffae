// A faithful copy (issue 12): owner, mode bits, ns mtimes (directories and links too), xattrs and
// ACLs replicated live and by every mirror mode, checked by an independent walk (find, getfattr)
// and by rsync -aHAXSn. Runs as root (CI does): chown to other users needs it.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  smr,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  write,
  type Daemon,
  type TargetD,
  watchedPair,
} from '../helpers/harness.js';
import { attrDifferences, rsyncDifferences } from '../helpers/attr-walk.js';

afterEach(cleanupAll);

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8' });

/** A tree with every attribute this test covers. */
async function makeTree(dir: string): Promise<void> {
  const p = (...r: string[]) => path.join(dir, ...r);
  await write(p('plain'), 'plain\n');
  await write(p('owned'), 'owned by nobody\n');
  sh('chown', '65534:65534', p('owned'));
  await write(p('xattr'), 'with xattrs\n');
  sh('setfattr', '-n', 'user.color', '-v', 'blue', p('xattr'));
  sh('setfattr', '-n', 'trusted.origin', '-v', '0x00ff10', p('xattr'));
  await write(p('acl'), 'with an acl\n');
  sh('setfacl', '-m', 'u:65534:rw,g:100:r', p('acl'));
  await write(p('suid'), '#!/bin/sh\n');
  await fsp.chmod(p('suid'), 0o4755);
  await fsp.mkdir(p('shared'));
  sh('chown', '1234:1234', p('shared'));
  await fsp.chmod(p('shared'), 0o2775);
  sh('setfacl', '-d', '-m', 'u:65534:rwx', p('shared'));
  await write(p('shared', 'inside'), 'x'.repeat(100_000));
  sh('chown', '1234:1234', p('shared', 'inside'));
  await fsp.mkdir(p('tmpdir'));
  await fsp.chmod(p('tmpdir'), 0o1777);
  await fsp.symlink('plain', p('link'));
  sh('chown', '-h', '65534:65534', p('link'));
  sh('touch', '-h', '-d', '2001-02-03 04:05:06.123456789', p('link'));
  // Hard-link groups: three names across two directories, and a pair.
  await fsp.mkdir(p('hl'));
  await write(p('hl', 'one'), 'linked data\n'.repeat(10_000));
  await fsp.link(p('hl', 'one'), p('hl', 'two'));
  await fsp.link(p('hl', 'one'), p('shared', 'three'));
  await write(p('hl', 'pair'), 'a pair\n');
  await fsp.link(p('hl', 'pair'), p('hl', 'pair2'));
  makeSparse(p('sparse'), 128);
  // Special entries: a fifo given away, and a device node (root only, as CI runs).
  sh('mkfifo', '-m', '0640', p('fifo'));
  sh('chown', '65534:65534', p('fifo'));
  if (process.geteuid?.() === 0) sh('mknod', '-m', '0600', p('tty-dev'), 'c', '5', '0');
  sh('touch', '-d', '2002-02-03 04:05:06.987654321', p('plain'));
  // Directory times last: creating entries changes them.
  sh('touch', '-d', '2003-02-03 04:05:06.111111111', p('shared'));
  sh('touch', '-d', '2004-02-03 04:05:06.222222222', p('tmpdir'));
  sh('touch', '-d', '2005-02-03 04:05:06.333333333', p('hl'));
}

/** A sparse file of `mib` MiB with three 64 KiB data runs (start, middle, end). */
function makeSparse(p: string, mib: number): void {
  sh('truncate', '-s', `${mib}M`, p);
  for (const at of [0, mib * 8, mib * 16 - 1])
    sh(
      'dd',
      'if=/dev/urandom',
      `of=${p}`,
      'bs=64K',
      'count=1',
      `seek=${at}`,
      'conv=notrunc',
      'status=none',
    );
}

/** Allocated bytes (st_blocks * 512), as du counts them. */
async function allocated(p: string): Promise<number> {
  return (await fsp.stat(p)).blocks * 512;
}

/** Every sparse file of the tree is as sparse on the replica (within 1 MiB) as on the source. */
async function expectSparse(src: string, dst: string): Promise<void> {
  for (const name of ['sparse', 'sparse2']) {
    const a = await allocated(path.join(src, name)).catch(() => null);
    if (a === null) continue;
    const b = await allocated(path.join(dst, name));
    expect(
      Math.abs(a - b),
      `${name}: ${a} B allocated on the source, ${b} B on the replica`,
    ).toBeLessThan(1 << 20);
  }
}

/** Makes `p` a file of its own with the same content and attributes (a hard link broken). */
function splitLink(p: string): void {
  const dirTime = sh('stat', '-c', '%y', path.dirname(p)).trim();
  sh('cp', '-a', p, `${p}.split`);
  sh('mv', `${p}.split`, p);
  sh('touch', '-d', dirTime, path.dirname(p));
}

async function expectSameAttrs(src: string, dst: string): Promise<void> {
  expect(attrDifferences(src, dst)).toEqual([]);
  expect(rsyncDifferences(src, dst)).toEqual([]);
  await expectSparse(src, dst);
}

/** Whether the trees still differ; `find`/`getfattr` failing on an entry renamed away mid-walk
 * (the target's temp file) counts as "still settling", not as a failure: the final compare says. */
function stillDiffer(src: string, dst: string): boolean {
  try {
    return attrDifferences(src, dst).length > 0;
  } catch {
    return true;
  }
}

async function waitSameAttrs(src: string, dst: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end && stillDiffer(src, dst)) await new Promise((r) => setTimeout(r, 200));
  await expectSameAttrs(src, dst);
}

// Each test sends and hashes a 128 MiB sparse file several times over: on a busy machine that
// takes more than the default minute.
/** A source and a target replicating the test tree (makeTree) as `app`, settled and compared. */
async function replicatedTree(): Promise<{ t: TargetD; s: Daemon; dir: string; dst: string }> {
  const { t, s, src: dir, dst } = await watchedPair(makeTree);
  await waitSameAttrs(dir, dst);
  return { t, s, dir, dst };
}

describe('attributes', { timeout: 180_000 }, () => {
  it('are replicated by the initial mirror and by live changes without data', async () => {
    const { s, dir, dst } = await replicatedTree();

    // Attribute-only changes, live.
    const before = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    sh('chown', '4321:4321', path.join(dir, 'plain'));
    sh('setfattr', '-n', 'user.color', '-v', 'red', path.join(dir, 'xattr'));
    sh('setfattr', '-x', 'trusted.origin', path.join(dir, 'xattr'));
    sh('setfacl', '-m', 'u:4321:r', path.join(dir, 'acl'));
    sh('setfacl', '-b', path.join(dir, 'shared'));
    sh('touch', '-d', '2005-01-01 00:00:00.000000001', path.join(dir, 'owned'));
    sh('chown', '-h', '4321:4321', path.join(dir, 'link'));
    await write(path.join(dir, 'shared', 'new'), 'new file\n');
    // Hard links made live: a new name, a new name then the first one renamed, a name whose
    // partner is outside the connection's path (sent as a file).
    await fsp.link(path.join(dir, 'plain'), path.join(dir, 'hl', 'plain2'));
    await fsp.link(path.join(dir, 'hl', 'one'), path.join(dir, 'hl', 'four'));
    await fsp.rename(path.join(dir, 'hl', 'one'), path.join(dir, 'hl', 'one-moved'));
    const outside = path.join(await tmp('smr-outside-'), 'f');
    await write(outside, 'linked from outside\n');
    await fsp.link(outside, path.join(dir, 'hl', 'from-outside'));
    sh('mkfifo', path.join(dir, 'shared', 'fifo2'));
    await waitSynced(s, 'app');
    await fsp.rm(outside); // its link count would differ from the replica's copy, rightly
    await waitSameAttrs(dir, dst);
    const after = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    // Only the new files' bytes went: attribute changes and links carry no data.
    expect(after.sent.bytes - before.sent.bytes).toBeLessThan(20_000);
    // The first name deleted right after the link: the new name keeps the data.
    await write(path.join(dir, 'hl', 'new'), 'x'.repeat(50_000));
    await waitSynced(s, 'app');
    await fsp.link(path.join(dir, 'hl', 'new'), path.join(dir, 'hl', 'new2'));
    await fsp.link(path.join(dir, 'hl', 'new'), path.join(dir, 'hl', 'new3'));
    await fsp.rm(path.join(dir, 'hl', 'new'));
    // A sparse file made live: its zero parts are not sent, and it stays sparse on the replica.
    const beforeSparse = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    makeSparse(path.join(dir, 'sparse2'), 1024); // issue 12's 1 GiB case
    await waitSynced(s, 'app');
    await waitSameAttrs(dir, dst);
    const afterSparse = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    expect(afterSparse.sent.bytes - beforeSparse.sent.bytes).toBeLessThan(4 << 20);
    // Captured while empty, then grown sparsely (as a `truncate -s` caught between its create
    // and its resize): the delta sends the data, not the zeros past the replica's end (it sent
    // the whole 1 GiB before).
    await write(path.join(dir, 'grown'), '');
    await waitSynced(s, 'app');
    const beforeGrow = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    makeSparse(path.join(dir, 'grown'), 1024);
    await waitSynced(s, 'app');
    await waitSameAttrs(dir, dst);
    const afterGrow = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    expect(afterGrow.sent.bytes - beforeGrow.sent.bytes).toBeLessThan(4 << 20);
    expect(await allocated(path.join(dst, 'grown'))).toBeLessThan(
      (await allocated(path.join(dir, 'grown'))) + (1 << 20),
    );
  });

  for (const mode of ['full', 'diff', 'checksum'] as const) {
    it(`a ${mode} mirror puts back attributes changed on the replica`, async () => {
      const { s, dir, dst } = await replicatedTree();
      await s.stop();
      sh('chown', '0:0', path.join(dst, 'owned'));
      sh('setfattr', '-x', 'user.color', path.join(dst, 'xattr'));
      sh('setfattr', '-n', 'user.extra', '-v', '1', path.join(dst, 'plain'));
      sh('setfacl', '-b', path.join(dst, 'acl'));
      sh('touch', '-d', '2010-01-01 00:00:00.5', path.join(dst, 'shared'));
      sh('touch', '-h', '-d', '2010-01-01 00:00:00.5', path.join(dst, 'link'));
      sh('touch', '-d', '2002-02-03 04:05:06.987654000', path.join(dst, 'plain'));
      await fsp.chmod(path.join(dst, 'suid'), 0o755);
      splitLink(path.join(dst, 'hl', 'two'));
      await fsp.rm(path.join(dst, 'sparse'));
      const s2 = await startSource(s.stateDir);
      const r = await smr([
        'mirror',
        'start',
        'app',
        '--mode',
        mode,
        '--wait',
        '--state-dir',
        s2.stateDir,
      ]);
      expect(r.code, r.stderr).toBe(0);
      await waitSynced(s2, 'app');
      await waitSameAttrs(dir, dst);
    });
  }

  it('attribute changes made while the source was down are caught by its restart', async () => {
    // A tree older than the mirror by more than 2 s: the index keeps each stamp with the ctime
    // that proves it (docs/INDEX.md, ctime_ns), and the restart trusts an unchanged ctime.
    const aged = async (d: string): Promise<void> => {
      await makeTree(d);
      await new Promise((r) => setTimeout(r, 2100));
    };
    const { s, src: dir, dst } = await watchedPair(aged);
    await waitSameAttrs(dir, dst);
    await s.stop();
    const index = execFileSync('find', [s.stateDir, '-name', 'index.sqlite'], { encoding: 'utf8' });
    const proven = execFileSync(
      'sqlite3',
      [
        index.trim(),
        "SELECT count(*) FROM entries WHERE ctime_ns != 0 AND key = CAST('plain' AS BLOB)",
      ],
      { encoding: 'utf8' },
    );
    expect(proven.trim()).toBe('1');
    sh('chown', '4321:4321', path.join(dir, 'plain'));
    sh('setfattr', '-n', 'user.color', '-v', 'green', path.join(dir, 'xattr'));
    sh('setfacl', '-m', 'u:4321:r', path.join(dir, 'acl'));
    sh('chown', '4321:4321', path.join(dir, 'fifo'));
    const s2 = await startSource(s.stateDir);
    await waitSynced(s2, 'app');
    await waitSameAttrs(dir, dst);
  });

  it('verify names each attribute that differs (exit 4); --fix repairs them without data', async () => {
    const { s, dir, dst } = await replicatedTree();
    sh('chown', '0:0', path.join(dst, 'owned'));
    sh('setfattr', '-x', 'user.color', path.join(dst, 'xattr'));
    sh('setfacl', '-b', path.join(dst, 'acl'));
    sh('touch', '-d', '2010-01-01 00:00:00.5', path.join(dst, 'shared'));
    sh('touch', '-h', '-d', '2010-01-01 00:00:00.5', path.join(dst, 'link'));
    await fsp.chmod(path.join(dst, 'suid'), 0o755);
    splitLink(path.join(dst, 'hl', 'two'));
    const args = ['verify', 'app', '--mode', 'checksum', '--json', '--state-dir', s.stateDir];
    const v = await smr(args);
    expect(v.code, v.stdout + v.stderr).toBe(4);
    const kinds = (p: string): string[] =>
      v.json.differences
        .filter((d: { path: string }) => d.path === p)
        .map((d: { kind: string }) => d.kind);
    expect(kinds('owned')).toEqual(['owner']);
    expect(kinds('xattr')).toEqual(['xattrs']);
    expect(kinds('acl')).toContain('acl');
    expect(kinds('shared')).toEqual(['mtime']);
    expect(kinds('link')).toEqual(['mtime']);
    expect(kinds('suid')).toEqual(['mode']);
    expect(kinds('plain')).toEqual([]);
    expect(kinds('hl/two')).toEqual(['hardlinks']);
    const before = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    const f = await smr([...args, '--fix']);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    const after = (await smr(['status', 'app', '--json', '--state-dir', s.stateDir])).json;
    expect(after.sent.bytes - before.sent.bytes).toBeLessThan(4096); // attributes, no file data
    await expectSameAttrs(dir, dst);
    expect((await smr(args)).code).toBe(0);
  });

  it('connect --no-owner --no-xattrs --no-acls --no-hard-links leaves those out, and verify does not compare them', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await makeTree(dir);
    await connect(s, 'app', t, dir, ['--no-owner', '--no-xattrs', '--no-acls', '--no-hard-links']);
    await waitSynced(s, 'app');
    const dst = path.join(t.root, 'app');
    expect((await fsp.stat(path.join(dst, 'hl', 'one'))).nlink).toBe(1);
    expect((await fsp.stat(path.join(dst, 'hl', 'two'))).nlink).toBe(1);
    const st = await fsp.stat(path.join(dst, 'owned'));
    expect([st.uid, st.gid]).toEqual([0, 0]);
    expect(sh('getfattr', '-h', '-d', '-m', '-', path.join(dst, 'xattr'))).toBe('');
    expect(sh('getfacl', '-c', '-s', path.join(dst, 'acl'))).toBe('');
    const v = await smr([
      'verify',
      'app',
      '--mode',
      'checksum',
      '--json',
      '--state-dir',
      s.stateDir,
    ]);
    expect(v.code, v.stdout).toBe(0);
  });
});
