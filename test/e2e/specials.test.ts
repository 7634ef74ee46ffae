// Fifos, sockets and device nodes (issue 12, rsync -D): replicated, listed by the target, compared
// by verify attribute by attribute (type, device number, mode, owner, ns mtime), repaired by
// verify --fix, seen as orphans when only on the target, and recreated exactly by restore. Every
// check is made against an independent walk (coreutils stat), not smr's own verify alone. Runs as
// root (CI does): device nodes and chown need it.
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  smr,
  startSource,
  waitSynced,
  waitUntil,
  watchedPair,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8' });

/** A unix socket left on disk: the process that bound it is killed before it can unlink it. */
function makeSocket(p: string): void {
  const code = `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', code]);
}

/** The specials (and a plain file and a directory around them) every case starts from. */
async function makeTree(dir: string): Promise<void> {
  const p = (...r: string[]) => path.join(dir, ...r);
  await write(p('plain.txt'), 'plain\n');
  await fsp.mkdir(p('dev'));
  sh('mkfifo', '-m', '0640', p('pipe'));
  sh('chown', '1234:2345', p('pipe'));
  sh('mkfifo', '-m', '0600', p('dev', 'pipe2'));
  makeSocket(p('sock'));
  sh('chmod', '0751', p('sock'));
  sh('mknod', '-m', '0620', p('dev', 'null-like'), 'c', '1', '3');
  sh('chown', '65534:65534', p('dev', 'null-like'));
  sh('mknod', '-m', '0660', p('dev', 'loop-like'), 'b', '7', '0');
  sh('setfattr', '-n', 'trusted.kind', '-v', 'device', p('dev', 'loop-like'));
  for (const [rel, when] of [
    ['pipe', '2001-02-03 04:05:06.123456789'],
    ['sock', '2002-02-03 04:05:06.223456789'],
    ['dev/pipe2', '2003-02-03 04:05:06.323456789'],
    ['dev/null-like', '2004-02-03 04:05:06.423456789'],
    ['dev/loop-like', '2005-02-03 04:05:06.523456789'],
  ] as const)
    sh('touch', '-h', '-d', when, p(rel));
}

/**
 * Every entry below `root` as coreutils stat describes it: type, device major:minor (hex),
 * mode, uid, gid and the mtime to the ns, keyed by path. Directory mtimes are left out (writing
 * into a directory moves them); files carry their content too.
 */
async function statWalk(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = sh(
    'find',
    root,
    '-mindepth',
    '1',
    '-exec',
    'stat',
    '-c',
    '%n|%F|%t:%T|%a|%u|%g|%.9Y',
    '{}',
    '+',
  );
  for (const line of lines.split('\n').filter(Boolean)) {
    const f = line.split('|');
    const rel = path.relative(root, f[0] as string);
    if (f[1] === 'directory') f[6] = '-';
    if (f[1] === 'regular file') f.push(await fsp.readFile(path.join(root, rel), 'utf8'));
    out.set(rel, f.slice(1).join('|'));
  }
  return out;
}

function expectSameWalk(a: Map<string, string>, b: Map<string, string>): void {
  expect(Object.fromEntries([...b].sort())).toEqual(Object.fromEntries([...a].sort()));
}

/** The trusted.kind xattr the tree puts on its block device (read with getfattr). */
function kindXattr(p: string): string {
  return sh('getfattr', '--absolute-names', '--only-values', '-n', 'trusted.kind', p);
}

describe('fifos, sockets and device nodes', () => {
  it('are replicated, verified, repaired by verify --fix, orphaned, and restored exactly', async () => {
    const { s, src, dst } = await watchedPair(makeTree, { name: 'sp' });
    const state = s.stateDir;
    const run = (...args: string[]) =>
      smr([...args, '--state-dir', state, '--json'], { timeoutMs: 120_000 });
    const rep = (...r: string[]) => path.join(dst, ...r);
    const source = await statWalk(src);
    expect(source.get('sock')).toMatch(/^socket\|/);
    expect(source.get('dev/loop-like')).toMatch(/^block special file\|7:0\|660\|0\|0\|/);
    expectSameWalk(source, await statWalk(dst));
    expect(kindXattr(rep('dev', 'loop-like'))).toBe('device');

    // Replicated as they are: verify compares them, and counts them.
    const v0 = await run('verify', 'sp');
    expect(v0.code, v0.stdout).toBe(0);
    expect(v0.json.specials).toBe(5);
    expect(v0.json.skipped.count).toBe(0);
    // Listed as equal, a mirror has nothing to send for them.
    const md = await run('mirror', 'start', 'sp', '--dry-run');
    expect(md.code, md.stdout).toBe(0);
    expect(md.json.items).toEqual([]);

    // Changed behind smr's back, one attribute of each kind.
    sh('chmod', '0600', rep('pipe'));
    sh('chown', '4321:4321', rep('sock'));
    await fsp.rm(rep('dev', 'null-like'));
    await fsp.rm(rep('dev', 'pipe2'));
    await write(rep('dev', 'pipe2'), 'a file where a fifo was\n');
    await fsp.rm(rep('dev', 'loop-like'));
    sh('mknod', '-m', '0660', rep('dev', 'loop-like'), 'b', '7', '1');
    sh('setfattr', '-n', 'trusted.kind', '-v', 'device', rep('dev', 'loop-like'));
    sh('touch', '-h', '-d', '2005-02-03 04:05:06.523456789', rep('dev', 'loop-like'));
    const v1 = await run('verify', 'sp');
    expect(v1.code, v1.stdout).toBe(4);
    const kinds = (v1.json.differences as Array<{ path: string; kind: string }>)
      .map((d) => `${d.path} ${d.kind}`)
      .sort();
    expect(kinds).toEqual([
      'dev mtime', // entries were made and removed in it
      'dev/loop-like rdev',
      'dev/null-like missing',
      'dev/pipe2 type',
      'pipe mode',
      'sock owner',
    ]);
    const typeDiff = v1.json.differences.find((d: { kind: string }) => d.kind === 'type');
    expect([typeDiff.source, typeDiff.target]).toEqual(['p', 'f']);

    // --fix repairs each (attributes alone where only those differ), then compares again.
    const fixed = await run('verify', 'sp', '--fix');
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.json.fixed).toBe(6);
    expectSameWalk(source, await statWalk(dst));

    // A special only on the target is an orphan like any other entry, and is deleted as one.
    sh('mkfifo', rep('stray'));
    const v2 = await run('verify', 'sp');
    expect(v2.code).toBe(4);
    expect(v2.json.differences).toEqual([{ path: 'stray', kind: 'orphan', target: 'p' }]);
    const o = await run('orphans', 'sp');
    expect(o.json.orphans).toEqual([{ path: 'stray', type: 'p', size: 0 }]);
    const od = await run('orphans', 'sp', '--delete');
    expect(od.code, od.stdout).toBe(0);
    expect(od.json.deleted).toBe(1);
    await waitUntil(async () => !(await fsp.lstat(rep('stray')).catch(() => null)), 30_000);
    // And so is a mirror with --delete-orphans.
    sh('mknod', rep('stray-dev'), 'c', '1', '5');
    const m = await run('mirror', 'start', 'sp', '--mode', 'diff', '--delete-orphans', '--wait');
    expect(m.code, m.stdout).toBe(0);
    expect((await run('status', 'sp')).json.mirror).toMatchObject({ orphans: 1, deleted: 1 });
    await waitUntil(async () => !(await fsp.lstat(rep('stray-dev')).catch(() => null)), 30_000);
    expect((await run('verify', 'sp')).code).toBe(0);
    expectSameWalk(source, await statWalk(dst));

    // The source loses its tree: restore makes every special again, attribute for attribute.
    const replica = await statWalk(dst);
    await s.kill();
    await fsp.rm(src, { recursive: true, force: true });
    const s2 = await startSource(state);
    await waitUntil(async () => (await run('status', 'sp')).json?.link === 'connected', 30_000);
    const dry = await run('restore', 'sp', '--dry-run');
    expect(dry.code, dry.stdout).toBe(0);
    const items = new Map<string, { type: string; action: string }>(
      dry.json.items.map((i: { path: string; type: string; action: string }) => [i.path, i]),
    );
    const want: Array<[string, string]> = [
      ['pipe', 'S'],
      ['sock', 'S'],
      ['dev/pipe2', 'S'],
      ['dev/null-like', 'D'],
      ['dev/loop-like', 'D'],
    ];
    for (const [rel, type] of want)
      expect(items.get(rel), rel).toMatchObject({ type, action: 'create' });
    expect(await fsp.lstat(src).catch(() => null)).toBeNull(); // the dry run changed nothing
    const r = await run('restore', 'sp', '--wait');
    expect(r.code, r.stdout + r.stderr + s2.log().slice(-3000)).toBe(0);
    expect(r.json.restore).toMatchObject({ state: 'complete', failed: 0, skipped: 0 });
    expectSameWalk(replica, await statWalk(src));
    expect(kindXattr(path.join(src, 'dev', 'loop-like'))).toBe('device');
    await waitSynced(s2, 'sp');
    expect((await run('verify', 'sp')).code).toBe(0);
  });
});
