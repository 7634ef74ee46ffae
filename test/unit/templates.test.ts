// Shipped templates: shellcheck-clean, --help, and the scripts really run against stubs and temp dirs.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TEMPLATES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates');
const REMIRROR = path.join(TEMPLATES, 'scripts/remirror.sh');
const SNAP_COPY = path.join(TEMPLATES, 'tasks/snapshot-copy.sh');
const SNAP_BTRFS = path.join(TEMPLATES, 'tasks/snapshot-btrfs.sh');
const SNAP_ZFS = path.join(TEMPLATES, 'tasks/snapshot-zfs.sh');
const SNAP_LVM = path.join(TEMPLATES, 'tasks/snapshot-lvm.sh');

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
const files = allFiles(TEMPLATES).sort();
const shellScripts = files.filter((f) => f.endsWith('.sh'));
const rel = (f: string) => path.relative(TEMPLATES, f);

let tmp: string;
let dirCount = 0;
async function freshDir(name: string): Promise<string> {
  const dir = path.join(tmp, `${name}-${++dirCount}`);
  await fsp.mkdir(dir, { recursive: true });
  return dir;
}

/** Writes an executable stub script. */
async function stub(file: string, body: string): Promise<string> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  return file;
}

function run(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(script, args, {
    encoding: 'utf8',
    env: { ...process.env, SMR_TARGET_PATH: undefined, SMR_TASK_ID: undefined, ...env },
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return r;
}

const lastLine = (s: string) => s.trimEnd().split('\n').at(-1) ?? '';

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-templates-'));
});
afterAll(async () => {
  await fsp.chmod(tmp, 0o755).catch(() => undefined);
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('the template set', () => {
  it('holds every promised template', () => {
    const names = files.map(rel);
    for (const f of [
      'README.md',
      'scripts/quiesce-and-snapshot.sh',
      'scripts/quiesce-and-snapshot.ps1',
      'scripts/remirror.sh',
      'scripts/remirror.ps1',
      'scripts/restore.sh',
      'scripts/restore.ps1',
      'tasks/snapshot-copy.sh',
      'tasks/snapshot-btrfs.sh',
      'tasks/snapshot-zfs.sh',
      'tasks/snapshot-lvm.sh',
      'tasks/snapshot-vss.ps1',
      'systemd/smr-source.service',
      'systemd/smr-target.service',
      'cron/crontab.example',
      'cron/README.md',
    ]) {
      expect(names).toContain(f);
    }
  });

  it('describes every template on line 2 with "# smr-template: "', () => {
    for (const f of files.filter((x) => !x.endsWith('.md'))) {
      const line2 = readFileSync(f, 'utf8').split('\n')[1] ?? '';
      expect(line2, rel(f)).toMatch(/^# smr-template: \S.{10,}$/);
    }
  });

  it('indexes every template in templates/README.md', () => {
    const index = readFileSync(path.join(TEMPLATES, 'README.md'), 'utf8');
    for (const f of files.filter((x) => !x.endsWith('.md')))
      expect(index, rel(f)).toContain(rel(f));
  });

  it('ships shell scripts executable, with bash strict mode', () => {
    for (const f of shellScripts) {
      expect(statSync(f).mode & 0o111, rel(f)).not.toBe(0);
      const text = readFileSync(f, 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n'), rel(f)).toBe(true);
      expect(text, rel(f)).toContain('set -euo pipefail');
    }
  });
});

describe('shellcheck', () => {
  it('is installed (the template checks need it)', () => {
    const r = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    expect(
      r.error === undefined && r.status === 0,
      'shellcheck is not installed: run `apt-get install -y shellcheck` (or `brew install shellcheck`)',
    ).toBe(true);
  });

  it.each(shellScripts.map(rel))('%s passes shellcheck -S style', (f) => {
    const r = spawnSync('shellcheck', ['-S', 'style', '-x', path.join(TEMPLATES, f)], {
      encoding: 'utf8',
    });
    expect(
      r.error,
      'shellcheck is not installed: run `apt-get install -y shellcheck`',
    ).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('--help', () => {
  it.each(shellScripts.map(rel))('%s --help exits 0 with usage', (f) => {
    const r = run(path.join(TEMPLATES, f), ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: /);
  });

  it.each(shellScripts.map(rel))('%s refuses an unknown option with exit 2', (f) => {
    const r = run(path.join(TEMPLATES, f), ['--no-such-option']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option "--no-such-option"/);
  });
});

// ---------------------------------------------------------------------------------------------

interface Entry {
  type: string;
  mode: number;
  mtimeMs?: number;
  content?: string;
}

/** Everything cp -a must keep: names, types, modes, contents, link targets, file times. */
async function tree(root: string): Promise<Record<string, Entry>> {
  const out: Record<string, Entry> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const st = await fsp.lstat(p);
      const key = path.relative(root, p);
      if (st.isSymbolicLink()) out[key] = { type: 'link', mode: 0, content: await fsp.readlink(p) };
      else if (st.isDirectory()) {
        out[key] = { type: 'dir', mode: st.mode };
        await walk(p);
      } else {
        const content = (await fsp.readFile(p)).toString('base64');
        out[key] = { type: 'file', mode: st.mode, mtimeMs: Math.floor(st.mtimeMs), content };
      }
    }
  }
  await walk(root);
  return out;
}

async function makeReplica(dir: string): Promise<string> {
  const rep = path.join(dir, 'web');
  await fsp.mkdir(path.join(rep, 'sub/deeper'), { recursive: true });
  await fsp.writeFile(path.join(rep, 'index.html'), '<h1>hi</h1>\n');
  await fsp.writeFile(path.join(rep, 'name with spaces.txt'), 'spaces\n');
  await fsp.writeFile(path.join(rep, '.hidden'), 'dot\n');
  await fsp.writeFile(path.join(rep, 'empty'), '');
  await fsp.writeFile(
    path.join(rep, 'sub/deeper/bin.dat'),
    Buffer.from([0, 1, 2, 255, 254, 10, 13]),
  );
  await fsp.writeFile(path.join(rep, 'sub/run.sh'), '#!/bin/sh\n', { mode: 0o750 });
  await fsp.symlink('sub/run.sh', path.join(rep, 'link-to-run'));
  await fsp.utimes(
    path.join(rep, 'index.html'),
    new Date('2020-01-02T03:04:05Z'),
    new Date('2020-01-02T03:04:05Z'),
  );
  return rep;
}

/** A PATH whose `cp` refuses to run, so a refusal test can never copy anything, even if broken. */
async function guardedPath(): Promise<{ PATH: string; marker: string }> {
  const bin = await freshDir('guard-bin');
  const marker = path.join(bin, 'cp-was-called');
  await stub(path.join(bin, 'cp'), `touch "${marker}"; exit 1`);
  return { PATH: `${bin}:${process.env.PATH ?? ''}`, marker };
}

describe('tasks/snapshot-copy.sh', () => {
  it('makes an identical copy beside the replica and prints its path last', async () => {
    const dir = await freshDir('copy');
    const rep = await makeReplica(dir);
    const r = run(SNAP_COPY, [], { SMR_TARGET_PATH: rep, SMR_TASK_ID: 'task-7' });
    expect(r.status, r.stderr).toBe(0);
    const snap = lastLine(r.stdout);
    expect(path.dirname(snap)).toBe(path.join(await fsp.realpath(dir), 'web.snapshots'));
    expect(path.basename(snap)).toMatch(/^\d{8}T\d{6}Z-task-7$/);
    expect(await tree(snap)).toEqual(await tree(rep));
    expect((await fsp.readdir(path.dirname(snap))).filter((n) => n.endsWith('.partial'))).toEqual(
      [],
    );
  });

  it('names a manual run "manual", sanitizes odd task ids, and copies with each method', async () => {
    const dir = await freshDir('methods');
    const rep = await makeReplica(dir);
    const manual = run(SNAP_COPY, ['--method', 'copy'], { SMR_TARGET_PATH: rep });
    expect(manual.status, manual.stderr).toBe(0);
    expect(lastLine(manual.stdout)).toMatch(/-manual$/);
    const odd = run(SNAP_COPY, ['--method', 'hardlink'], {
      SMR_TARGET_PATH: rep,
      SMR_TASK_ID: 'a/b c',
    });
    expect(odd.status, odd.stderr).toBe(0);
    expect(lastLine(odd.stdout)).toMatch(/\d{6}Z-a_b_c$/);
    expect(await tree(lastLine(odd.stdout))).toEqual(await tree(rep));
  });

  it('keeps only the newest --keep snapshots', async () => {
    const dir = await freshDir('keep');
    const rep = await makeReplica(dir);
    const made: string[] = [];
    for (const id of ['t1', 't2', 't3', 't4']) {
      const r = run(SNAP_COPY, ['--keep', '2'], { SMR_TARGET_PATH: rep, SMR_TASK_ID: id });
      expect(r.status, r.stderr).toBe(0);
      made.push(path.basename(lastLine(r.stdout)));
    }
    const snapsDir = path.join(dir, 'web.snapshots');
    await fsp.writeFile(path.join(snapsDir, 'not-a-snapshot.txt'), 'keep me');
    const r = run(SNAP_COPY, ['--keep', '2'], { SMR_TARGET_PATH: rep, SMR_TASK_ID: 't5' });
    made.push(path.basename(lastLine(r.stdout)));
    expect((await fsp.readdir(snapsDir)).sort()).toEqual(
      [made[3], made[4], 'not-a-snapshot.txt'].sort(),
    );
  });

  it('copies into --dest', async () => {
    const dir = await freshDir('dest');
    const rep = await makeReplica(dir);
    const dest = path.join(dir, 'elsewhere/snaps');
    const r = run(SNAP_COPY, ['--dest', dest], { SMR_TARGET_PATH: rep });
    expect(r.status, r.stderr).toBe(0);
    expect(path.dirname(lastLine(r.stdout))).toBe(await fsp.realpath(dest));
  });

  it('refuses "/" however written, an empty or relative SMR_TARGET_PATH, and copies nothing', async () => {
    const guard = await guardedPath();
    const dir = await freshDir('refuse');
    const rootLink = path.join(dir, 'root-link');
    await fsp.symlink('/', rootLink);
    const hadRootSnapshots = existsSync('/.snapshots');
    for (const p of ['/', '//', '/.', '/../', rootLink, '', 'relative/dir']) {
      const r = run(SNAP_COPY, [], { SMR_TARGET_PATH: p, PATH: guard.PATH });
      expect(r.status, `SMR_TARGET_PATH=${JSON.stringify(p)}`).toBe(2);
      expect(r.stderr).toMatch(/refusing to snapshot "\/"|SMR_TARGET_PATH/);
    }
    expect(run(SNAP_COPY, [], { PATH: guard.PATH }).status).toBe(2);
    expect(existsSync(guard.marker)).toBe(false);
    if (!hadRootSnapshots) expect(existsSync('/.snapshots')).toBe(false);
  });

  it('refuses a snapshots folder inside the replica, creating nothing there', async () => {
    const guard = await guardedPath();
    const dir = await freshDir('inside');
    const rep = await makeReplica(dir);
    const before = await tree(rep);
    const r = run(SNAP_COPY, ['--dest', path.join(rep, 'snaps')], {
      SMR_TARGET_PATH: rep,
      PATH: guard.PATH,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/must not be inside the replica/);
    expect(await tree(rep)).toEqual(before);
    expect(existsSync(guard.marker)).toBe(false);
  });

  it('leaves no partial snapshot when the copy fails', async () => {
    const dir = await freshDir('fail');
    const rep = await makeReplica(dir);
    const bin = await freshDir('failing-cp');
    // A cp that starts writing, then fails half way.
    await stub(path.join(bin, 'cp'), 'mkdir -p "${@: -1}/half"; echo "cp: disk full" >&2; exit 1');
    const r = run(SNAP_COPY, ['--method', 'copy'], {
      SMR_TARGET_PATH: rep,
      PATH: `${bin}:${process.env.PATH}`,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/copy of .* failed/);
    expect(await fsp.readdir(path.join(dir, 'web.snapshots'))).toEqual([]);
  });

  it('rejects bad option values', () => {
    expect(run(SNAP_COPY, ['--keep', 'many'], { SMR_TARGET_PATH: '/tmp' }).status).toBe(2);
    expect(run(SNAP_COPY, ['--method', 'magic'], { SMR_TARGET_PATH: '/tmp' }).status).toBe(2);
    expect(run(SNAP_COPY, ['--dest'], { SMR_TARGET_PATH: '/tmp' }).status).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

/** A fake smr that logs its argv (one "[arg]" each) and exits by FAKE_SMR_EXIT (or per verb). */
async function fakeSmr(dir: string, log: string): Promise<string> {
  return stub(
    path.join(dir, 'fake-smr'),
    [
      `printf 'smr' >> "${log}"`,
      `for a in "$@"; do printf ' [%s]' "$a" >> "${log}"; done`,
      `echo >> "${log}"`,
      'case "$1" in',
      '  mirror) exit "${FAKE_MIRROR_EXIT:-0}" ;;',
      '  verify) exit "${FAKE_VERIFY_EXIT:-0}" ;;',
      '  *) exit "${FAKE_SMR_EXIT:-0}" ;;',
      'esac',
    ].join('\n'),
  );
}

async function logLines(log: string): Promise<string[]> {
  return existsSync(log) ? (await fsp.readFile(log, 'utf8')).trimEnd().split('\n') : [];
}

describe('scripts/remirror.sh', () => {
  it('mirrors with --wait, verifies, and exits 0 when equal', async () => {
    const dir = await freshDir('remirror');
    const log = path.join(dir, 'calls.log');
    const smr = await fakeSmr(dir, log);
    const r = run(REMIRROR, [
      '--smr',
      smr,
      '--connection',
      'web',
      '--mode',
      'checksum',
      '--state-dir',
      '/sd',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(await logLines(log)).toEqual([
      'smr [mirror] [start] [web] [--mode] [checksum] [--wait] [--state-dir] [/sd]',
      'smr [verify] [web] [--mode] [checksum] [--state-dir] [/sd]',
    ]);
    expect(r.stderr).toMatch(/OK: web/);
  });

  it("exits 4 with verify's differences", async () => {
    const dir = await freshDir('remirror');
    const smr = await fakeSmr(dir, path.join(dir, 'calls.log'));
    const r = run(REMIRROR, ['--smr', smr, '--connection', 'web'], { FAKE_VERIFY_EXIT: '4' });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/DIFFERENCES/);
  });

  it("exits with a failed mirror's code and does not verify", async () => {
    const dir = await freshDir('remirror');
    const log = path.join(dir, 'calls.log');
    const smr = await fakeSmr(dir, log);
    const r = run(REMIRROR, ['--smr', smr, '--connection', 'web', '--mode', 'full'], {
      FAKE_MIRROR_EXIT: '3',
    });
    expect(r.status).toBe(3);
    expect((await logLines(log)).map((l) => l.split(' ')[1])).toEqual(['[mirror]']);
    expect(run(REMIRROR, ['--smr', smr, '--connection', 'web', '--mode', 'fast']).status).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

/** A PATH holding only bash, so the snapshot tools (btrfs, zfs, lvcreate ...) are surely absent. */
async function bareBashPath(): Promise<string> {
  const bin = await freshDir('bare-bin');
  const bash = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
  await fsp.symlink(bash, path.join(bin, 'bash'));
  return bin;
}

describe.each([
  ['tasks/snapshot-btrfs.sh', SNAP_BTRFS, /btrfs command not found: install btrfs-progs/],
  ['tasks/snapshot-zfs.sh', SNAP_ZFS, /zfs command not found: install ZFS/],
  ['tasks/snapshot-lvm.sh', SNAP_LVM, /lvcreate not found: install lvm2/],
])('%s', (_name, script, missing) => {
  it('says clearly when its tool is missing', async () => {
    const rep = await makeReplica(await freshDir('tool'));
    const r = run(script, [], { SMR_TARGET_PATH: rep, PATH: await bareBashPath() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(missing);
  });

  it('refuses "/" and an empty SMR_TARGET_PATH', () => {
    for (const p of ['/', '//', '']) {
      const r = run(script, [], {
        SMR_TARGET_PATH: p,
        PATH: '/nonexistent' + ':' + process.env.PATH,
      });
      expect(r.status, JSON.stringify(p)).toBe(2);
    }
  });
});

describe('snapshot tasks against stub tools', () => {
  it('btrfs: snapshots read-only into <replica>.snapshots and prunes with subvolume delete', async () => {
    const dir = await freshDir('btrfs');
    const rep = await makeReplica(dir);
    const bin = await freshDir('btrfs-bin');
    const log = path.join(dir, 'btrfs.log');
    await stub(
      path.join(bin, 'btrfs'),
      [
        `echo "btrfs $*" >> '${log}'`,
        'case "$1 $2" in',
        '  "subvolume show") exit 0 ;;',
        '  "subvolume snapshot") mkdir "${@: -1}" ;;',
        '  "subvolume delete") rmdir "${@: -1}" ;;',
        'esac',
      ].join('\n'),
    );
    const env = { SMR_TARGET_PATH: rep, PATH: `${bin}:${process.env.PATH}` };
    const made = ['b1', 'b2', 'b3'].map((id) => {
      const r = run(SNAP_BTRFS, ['--keep', '2'], { ...env, SMR_TASK_ID: id });
      expect(r.status, r.stderr).toBe(0);
      return lastLine(r.stdout);
    });
    const real = await fsp.realpath(rep);
    expect(made[0]).toMatch(new RegExp(`^${real}\\.snapshots/\\d{8}T\\d{6}Z-b1$`));
    const calls = await logLines(log);
    expect(calls).toContain(`btrfs subvolume snapshot -r -- ${real} ${made[2]}`);
    expect(calls).toContain(`btrfs subvolume delete -- ${made[0]}`);
    expect((await fsp.readdir(`${real}.snapshots`)).length).toBe(2);
  });

  it('zfs: finds the dataset from the mounts, snapshots it and prunes only its own snapshots', async () => {
    const dir = await freshDir('zfs');
    const rep = await makeReplica(dir);
    const real = await fsp.realpath(rep);
    const bin = await freshDir('zfs-bin');
    const snaps = path.join(dir, 'snaps');
    const log = path.join(dir, 'zfs.log');
    await fsp.writeFile(snaps, 'tank/web@manual-keep\n');
    await stub(
      path.join(bin, 'zfs'),
      [
        `echo "zfs $*" >> '${log}'`,
        'case "$*" in',
        `  "list -H -t filesystem -o name,mountpoint") printf 'tank\\t/\\ntank/web\\t%s\\n' '${real}' ;;`,
        '  "list -H -o name -- tank/web") echo tank/web ;;',
        `  "list -H -t snapshot -o name -- "*) grep -qx -- "\${@: -1}" '${snaps}' ;;`,
        `  "list -H -t snapshot -o name -s creation -d 1 -- tank/web") cat '${snaps}' ;;`,
        `  "snapshot -- "*) echo "\${@: -1}" >> '${snaps}' ;;`,
        `  "destroy -- "*) grep -vx -- "\${@: -1}" '${snaps}' > '${snaps}.new'; mv '${snaps}.new' '${snaps}' ;;`,
        '  *) echo "unexpected: zfs $*" >&2; exit 9 ;;',
        'esac',
      ].join('\n'),
    );
    const env = { SMR_TARGET_PATH: rep, PATH: `${bin}:${process.env.PATH}` };
    const made = ['z1', 'z2', 'z3'].map((id) => {
      const r = run(SNAP_ZFS, ['--keep', '2'], { ...env, SMR_TASK_ID: id });
      expect(r.status, r.stderr).toBe(0);
      return lastLine(r.stdout);
    });
    expect(made[0]).toMatch(/^tank\/web@smr-\d{8}T\d{6}Z-z1$/);
    expect((await logLines(snaps)).sort()).toEqual(
      ['tank/web@manual-keep', made[1], made[2]].sort(),
    );
  });

  it('lvm: snapshots the given volume with a size and prunes with lvremove', async () => {
    const dir = await freshDir('lvm');
    const rep = await makeReplica(dir);
    const bin = await freshDir('lvm-bin');
    const lvs = path.join(dir, 'lvs');
    const log = path.join(dir, 'lvm.log');
    await fsp.writeFile(lvs, 'data\n');
    await stub(
      path.join(bin, 'lvs'),
      [
        'case "$*" in',
        '  "--noheadings -o segtype -- vg0/data") echo "  linear" ;;',
        `  "--noheadings -o lv_name,origin -- vg0") grep -v '^data$' '${lvs}' | sed 's/$/ data/' ;;`,
        `  "-- vg0/"*) grep -qx -- "\${2#vg0/}" '${lvs}' ;;`,
        '  *) echo "unexpected: lvs $*" >&2; exit 9 ;;',
        'esac',
      ].join('\n'),
    );
    await stub(path.join(bin, 'lvcreate'), `echo "lvcreate $*" >> '${log}'; echo "$5" >> '${lvs}'`);
    await stub(
      path.join(bin, 'lvremove'),
      `echo "lvremove $*" >> '${log}'; grep -vx -- "\${3#vg0/}" '${lvs}' > '${lvs}.new'; mv '${lvs}.new' '${lvs}'`,
    );
    const env = { SMR_TARGET_PATH: rep, PATH: `${bin}:${process.env.PATH}` };
    const made = ['l1', 'l2', 'l3'].map((id) => {
      const r = run(SNAP_LVM, ['--lv', 'vg0/data', '--keep', '2', '--size', '2G'], {
        ...env,
        SMR_TASK_ID: id,
      });
      expect(r.status, r.stderr).toBe(0);
      return lastLine(r.stdout);
    });
    expect(made[0]).toMatch(/^vg0\/smr_\d{8}T\d{6}Z_l1$/);
    const calls = await logLines(log);
    expect(calls[0]).toBe(`lvcreate -L 2G -s -n ${made[0]!.slice(4)} -- vg0/data`);
    expect(calls).toContain(`lvremove -y -- ${made[0]}`);
    expect((await logLines(lvs)).sort()).toEqual(
      ['data', made[1]!.slice(4), made[2]!.slice(4)].sort(),
    );
  });
});

describe('cron/crontab.example', () => {
  const text = readFileSync(path.join(TEMPLATES, 'cron/crontab.example'), 'utf8');
  // Job lines, the commented-out variants included.
  const jobs = text
    .split('\n')
    .map((l) => l.replace(/^# (?=[\d*])/, ''))
    .filter((l) => /^[\d*]/.test(l));

  it('uses only options its scripts accept', () => {
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    for (const job of jobs) {
      const script = /\/etc\/smr\/scripts\/(\S+)/.exec(job)?.[1];
      expect(script, job).toBeDefined();
      const help = run(path.join(TEMPLATES, 'scripts', script as string), ['--help']).stdout;
      for (const opt of job.match(/ --[a-z-]+/g) ?? []) {
        if (opt === ' --keep') continue; // a --task-arg for the task, not an option of the script
        expect(help, `${script} ${opt}`).toContain(opt.trim() + ' ');
      }
    }
  });

  it('says what the quiesce job does in the order it does it: wait for the task, then start', () => {
    const comment = text.slice(text.indexOf('# Every night'), text.indexOf('\n30 1'));
    expect(comment).toMatch(
      /check.*connected[\s\S]*stop PostgreSQL[\s\S]*wait until[\s\S]*then start/,
    );
    expect(comment).toMatch(/--max-down/);
  });
});
