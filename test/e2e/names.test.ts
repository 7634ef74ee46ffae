// Every name as bytes (issue 12, part b): names that are not valid UTF-8, with a newline, of 255
// bytes, and a directory with such a name holding files, replicated live, by each mirror mode and
// across a source restart; compared by an independent walk on bytes (readdir with encoding
// 'buffer', content hashed) and by rsync -aHAXSn. Also the skipped counters (issue 11): what is
// not replicated shows in `status` and `verify`, and in the log.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  onCleanup,
  SMR,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  waitUntil,
  watchedPair,
  type WatchedPair,
} from '../helpers/harness.js';
import { rsyncDifferences } from '../helpers/attr-walk.js';

afterEach(cleanupAll);

const B = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
const at = (dir: string, ...rel: Buffer[]): Buffer =>
  Buffer.concat([Buffer.from(dir), ...rel.flatMap((r) => [Buffer.from('/'), r])]);

const BAD = B('f', [0xff, 0xfe]); // not UTF-8
const NEWLINE = B('new\nline');
const LONG = B('n'.repeat(255)); // the longest name Linux takes
const BAD_DIR = B('d', [0xe9]); // latin-1 é: not UTF-8
const INNER = B('b', [0x80]);
const LINK = B('l', [0xff]);

/** The test tree, written with Buffer paths only. */
function makeTree(dir: string): void {
  fs.writeFileSync(at(dir, BAD), 'bad name\n');
  fs.writeFileSync(at(dir, NEWLINE), 'a newline in the name\n');
  fs.writeFileSync(at(dir, LONG), 'x'.repeat(70_000)); // beyond the small-file path
  fs.mkdirSync(at(dir, BAD_DIR));
  fs.writeFileSync(at(dir, BAD_DIR, B('a')), 'inside\n');
  fs.writeFileSync(at(dir, BAD_DIR, INNER), 'inside, bad name too\n');
  fs.symlinkSync(BAD, at(dir, LINK)); // its target's bytes are not UTF-8 either
  fs.writeFileSync(at(dir, B('plain')), 'plain\n');
}

/** Every entry below `dir` as "hex(path) type size sha256|link-hex", from a walk on bytes. */
function byteWalk(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: Buffer): void => {
    const abs = rel.length ? at(dir, rel) : Buffer.from(dir);
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const childRel = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = fs.lstatSync(at(dir, childRel));
      const id = childRel.toString('hex');
      if (st.isDirectory()) {
        out.push(`${id} d`);
        walk(childRel);
      } else if (st.isSymbolicLink()) {
        out.push(
          `${id} l ${fs.readlinkSync(at(dir, childRel), { encoding: 'buffer' }).toString('hex')}`,
        );
      } else {
        const sum = createHash('sha256')
          .update(fs.readFileSync(at(dir, childRel)))
          .digest('hex');
        out.push(`${id} f ${st.size} ${sum}`);
      }
    }
  };
  walk(Buffer.alloc(0));
  return out.sort();
}

/**
 * Whether the two walks agree now. An entry that vanishes mid-walk (the target's temp file,
 * renamed into place between readdir and lstat) means "not settled yet", not a test failure.
 */
function sameNow(src: string, dst: string): boolean {
  try {
    return byteWalk(src).join('\n') === byteWalk(dst).join('\n');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function expectSameBytes(src: string, dst: string): Promise<void> {
  // The replica settles a moment after the ack for the last directory times; poll the walk.
  await waitUntil(() => sameNow(src, dst), 20_000, 'same names').catch(() => undefined);
  expect(byteWalk(dst)).toEqual(byteWalk(src));
  expect(rsyncDifferences(src, dst)).toEqual([]);
}

/** The test tree replicated as `app`, compared. */
async function synced(): Promise<WatchedPair> {
  const pair = await watchedPair(makeTree);
  await expectSameBytes(pair.src, pair.dst);
  return pair;
}

/** One seed file replicated as `app`: the tree is then made while watched. */
const seeded = (connectArgs: string[] = []): Promise<WatchedPair> =>
  watchedPair((src) => fs.writeFileSync(at(src, B('seed')), 'seed\n'), { connect: connectArgs });

describe('names as bytes', () => {
  it('are replicated live, by the initial mirror, and across a source restart', async () => {
    const { s, src, dst } = await seeded();

    // Live: the whole tree appears while watched, then changes under its byte names.
    makeTree(src);
    await waitSynced(s, 'app');
    await expectSameBytes(src, dst);
    fs.appendFileSync(at(src, BAD), 'more\n');
    fs.renameSync(at(src, BAD_DIR, INNER), at(src, BAD_DIR, B('c', [0xfe])));
    fs.writeFileSync(at(src, B('g', [0xc3])), 'a truncated sequence\n');
    await waitSynced(s, 'app');
    await expectSameBytes(src, dst);

    // A restart: the index keeps its byte keys, and changes made meanwhile are found.
    await s.stop();
    fs.appendFileSync(at(src, NEWLINE), 'while down\n');
    fs.unlinkSync(at(src, B('plain')));
    fs.writeFileSync(at(src, BAD_DIR, B('z', [0xff])), 'made while down\n');
    const s2 = await startSource(s.stateDir);
    await waitSynced(s2, 'app');
    await expectSameBytes(src, dst);
    expect(s2.log()).not.toMatch(/not replicated/);

    // Restarted with nothing changed, nothing is queued: the index's byte keys and symlink
    // targets survived exactly (a lossy key or target would differ from the disk and be resent).
    const seq = (await status(s2, 'app')).lastCapturedSeq;
    await s2.stop();
    const s3 = await startSource(s.stateDir);
    await waitSynced(s3, 'app');
    expect((await status(s3, 'app')).lastCapturedSeq).toBe(seq);

    const v = await smr([
      'verify',
      'app',
      '--mode',
      'checksum',
      '--json',
      '--state-dir',
      s3.stateDir,
    ]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json.entries).toBe(byteWalk(src).length);
    expect(v.json.skipped).toEqual({ count: 0, reasons: {} });
  });

  for (const mode of ['full', 'diff', 'checksum'] as const) {
    it(`are put back by a ${mode} mirror`, async () => {
      const { src, dst, s } = await synced();
      await s.stop();
      fs.rmSync(at(dst, BAD_DIR), { recursive: true });
      fs.appendFileSync(at(dst, BAD), 'damage\n');
      fs.writeFileSync(at(dst, LONG), 'y'.repeat(70_000)); // same size, other content
      fs.utimesSync(
        at(dst, LONG),
        fs.statSync(at(src, LONG)).mtime,
        fs.statSync(at(src, LONG)).mtime,
      );
      fs.unlinkSync(at(dst, NEWLINE));
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
      expect(r.code, r.stdout + r.stderr).toBe(0);
      await waitSynced(s2, 'app');
      if (mode === 'checksum') return expectSameBytes(src, dst);
      // full and diff trust equal size and mtime, as rsync does without -c: all else is back.
      fs.writeFileSync(at(dst, LONG), 'x'.repeat(70_000));
      fs.utimesSync(
        at(dst, LONG),
        fs.statSync(at(src, LONG)).mtime,
        fs.statSync(at(src, LONG)).mtime,
      );
      await expectSameBytes(src, dst);
    });
  }

  it('verify exits 4 when a byte-named file differs, names it exactly, and 0 once fixed', async () => {
    const { src, dst, s } = await synced();
    fs.appendFileSync(at(dst, BAD_DIR, INNER), 'changed on the replica\n');
    const args = ['verify', 'app', '--json', '--state-dir', s.stateDir];
    const v = await smr(args);
    expect(v.code, v.stdout + v.stderr).toBe(4);
    const paths = v.json.differences.map((d: { path: string }) => d.path);
    // JSON carries the name's bytes as escapes: U+DC00 + byte for each byte that is not UTF-8.
    expect(paths).toContain('d\udce9/b\udc80');
    const text = await smr(['verify', 'app', '--state-dir', s.stateDir]);
    expect(text.code).toBe(4);
    expect(text.stdout).toContain('d\\xe9/b\\x80');
    expect(text.stdout).toMatch(/compared \d+ entries/);
    const f = await smr([...args, '--fix']);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    await expectSameBytes(src, dst);
  });
});

describe('names as bytes with the chokidar watcher', () => {
  it('cannot be reported live by chokidar: capture says so and finds them by a rescan', async () => {
    const { s, src, dst } = await seeded(['--watcher', 'chokidar']);
    makeTree(src);
    await waitUntil(() => sameNow(src, dst), 30_000, 'the tree');
    await waitSynced(s, 'app');
    await expectSameBytes(src, dst);
    expect(s.log()).toMatch(/chokidar reported .*not valid UTF-8.*rescanning/);
  });
});

describe('names as bytes in orphans and restore', () => {
  it('orphans lists and deletes a byte-named orphan; restore brings byte names back', async () => {
    const { src, dst, s } = await synced();
    const orphan = B('o', [0xff]);
    fs.writeFileSync(at(dst, BAD_DIR, orphan), 'only on the replica\n');
    const o = await smr(['orphans', 'app', '--json', '--state-dir', s.stateDir]);
    expect(o.code, o.stdout + o.stderr).toBe(0);
    expect(o.json.orphans.map((x: { path: string }) => x.path)).toEqual(['d\udce9/o\udcff']);
    const d = await smr(['orphans', 'app', '--delete', '--json', '--state-dir', s.stateDir]);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(fs.existsSync(at(dst, BAD_DIR, orphan))).toBe(false);
    // Names and content (writing the orphan here changed its directory's time on the replica).
    expect(byteWalk(dst)).toEqual(byteWalk(src));

    const out = path.join(await tmp('smr-out-'), 'restored');
    const r = await smr(['restore', 'app', '--to', out, '--wait', '--state-dir', s.stateDir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(byteWalk(out)).toEqual(byteWalk(src));
    expect(rsyncDifferences(dst, out)).toEqual([]);
  });
});

describe('a name the target cannot create', () => {
  it('is refused loudly: a log line, status target:name, and a name difference in verify', async () => {
    const { t, s, src, dst } = await seeded();
    // A path exactly as long as the source's PATH_MAX allows is too long under the replica's
    // longer root: the target's file system refuses it (ENAMETOOLONG).
    expect(Buffer.byteLength(dst)).toBeGreaterThan(Buffer.byteLength(src));
    const room = 4095 - Buffer.byteLength(src) - 1;
    const comps: string[] = [];
    let used = 0;
    while (room - used - (comps.length ? 1 : 0) > 255) {
      used += (comps.length ? 1 : 0) + 200;
      comps.push('d'.repeat(200));
    }
    const last = 'f'.repeat(room - used - 1);
    const rel = [...comps, last].join('/');
    fs.mkdirSync(path.join(src, ...comps), { recursive: true });
    fs.writeFileSync(path.join(src, rel), 'too deep for the target\n');
    await waitSynced(s, 'app');
    await waitUntil(
      async () => (await status(s, 'app')).skipped?.reasons?.['target:name'] >= 1,
      20_000,
      'the target reporting the name it could not create',
    );
    expect(t.log()).toMatch(/ENAMETOOLONG/);
    expect(t.log()).toMatch(/f{50,}: not replicated/);
    const v = await smr(['verify', 'app', '--json', '--state-dir', s.stateDir]);
    expect(v.code, v.stdout + v.stderr).toBe(4);
    expect(v.json.differences).toContainEqual({ path: rel, kind: 'name', source: 'f' });
    const text = await smr(['verify', 'app', '--state-dir', s.stateDir]);
    expect(text.stdout).toMatch(/name not carried/);
  });
});

/** A target daemon running as nobody (65534), so it cannot give files to other owners. */
async function startUnprivilegedTarget(): Promise<{
  addr: string;
  root: string;
  keyFile: string;
  log: () => string;
}> {
  const home = await tmp('smr-nobody-');
  const key = path.join(home, 'key');
  const k = await smr(['key', 'generate', '--out', key]);
  expect(k.code, k.stderr).toBe(0);
  fs.mkdirSync(path.join(home, 'state'));
  fs.mkdirSync(path.join(home, 'root'));
  for (const p of [home, key, path.join(home, 'state'), path.join(home, 'root')])
    fs.chownSync(p, 65534, 65534);
  const proc = spawn(
    process.execPath,
    [
      SMR,
      'target',
      'start',
      '--listen',
      '127.0.0.1:0',
      '--root',
      path.join(home, 'root'),
      '--key-file',
      key,
      '--state-dir',
      path.join(home, 'state'),
    ],
    {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: home },
    },
  );
  let out = '';
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  onCleanup(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  const first = await new Promise<string>((ok, fail) => {
    proc.stdout.once('data', (d: Buffer) => ok(d.toString().split('\n')[0] ?? ''));
    proc.once('exit', () => fail(new Error(`target as nobody exited: ${out}`)));
  });
  const port = Number((JSON.parse(first) as { port: number }).port);
  return { addr: `127.0.0.1:${port}`, root: path.join(home, 'root'), keyFile: key, log: () => out };
}

describe('skipped counters', () => {
  it("show the target's refusals: an owner a non-root target cannot set", async () => {
    const t = await startUnprivilegedTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    fs.writeFileSync(path.join(src, 'owned'), 'owned by root\n');
    fs.chownSync(path.join(src, 'owned'), 4321, 4321);
    const c = await smr([
      'connect',
      'app',
      '--to',
      t.addr,
      '--path',
      src,
      '--key-file',
      t.keyFile,
      '--state-dir',
      s.stateDir,
    ]);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    await waitSynced(s, 'app');
    await waitUntil(
      async () => (await status(s, 'app')).skipped?.reasons?.['target:owner'] >= 1,
      20_000,
      'the target reporting the owner it could not set',
    );
    expect(fs.readFileSync(path.join(t.root, 'app', 'owned'), 'utf8')).toBe('owned by root\n');
    expect(t.log()).toMatch(/owned: not replicated: .*as uid 65534, not root/);
  });

  it('a socket is replicated, and verify compares it', async () => {
    const t = await startTarget();
    const s = await startSource();
    const src = await tmp('smr-src-');
    fs.writeFileSync(at(src, B('seed')), 'seed\n');
    await connect(s, 'app', t, src);
    await waitSynced(s, 'app');
    // A unix socket, made live: replicated as a socket (mknod), not skipped.
    const server = net.createServer();
    await new Promise<void>((ok) => server.listen(path.join(src, 'sock'), ok));
    onCleanup(() => new Promise<void>((ok) => server.close(() => ok())));
    await waitUntil(
      () =>
        fs.lstatSync(path.join(t.root, 'app', 'sock'), { throwIfNoEntry: false })?.isSocket() ===
        true,
      20_000,
      'the socket on the replica',
    );
    await waitSynced(s, 'app');
    expect((await status(s, 'app')).skipped.count).toBe(0);
    // A mirror finds it listed as it is on the source, and counts nothing.
    const m = await smr([
      'mirror',
      'start',
      'app',
      '--mode',
      'diff',
      '--wait',
      '--state-dir',
      s.stateDir,
    ]);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    expect((await status(s, 'app')).skipped.count).toBe(0);
    // verify compares it like any entry (listings carry special entries): nothing skipped.
    const v = await smr(['verify', 'app', '--json', '--state-dir', s.stateDir]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.json.skipped).toEqual({ count: 0, reasons: {} });
    expect(v.json.specials).toBe(1);
    fs.chmodSync(path.join(t.root, 'app', 'sock'), 0o700);
    const vt = await smr(['verify', 'app', '--state-dir', s.stateDir]);
    expect(vt.code, vt.stdout).toBe(4);
    expect(vt.stdout).toMatch(/mode differs +sock/);
  });
});
