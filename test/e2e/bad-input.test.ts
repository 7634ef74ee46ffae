// Bad input, from the command line and from the wire: the contract's exit codes, one clear line
// (or one JSON error object), no stack traces, nothing recorded, and nothing written outside the
// target root. A target fed garbage closes that connection and keeps serving everyone else.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FRAME,
  RawClient,
  cleanupAll,
  closedPort,
  connect,
  expectSameTree,
  newKey,
  rawFrame,
  rawPreamble,
  rawSession,
  readKey,
  sleep,
  smr,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  waitUntil,
  write,
  type Daemon,
  type TargetD,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/**
 * Runs `smr ...args` twice: for humans it must exit `code` with exactly one non-empty line on
 * stderr; with --json it must exit `code` and print exactly one {"error":{code,message}} object.
 * Neither may show a stack trace.
 */
async function expectCliError(
  args: string[],
  code: number,
  match?: RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const cmd = `smr ${args.join(' ')}`;
  const text = await smr(args, { timeoutMs });
  expect(text.code, `${cmd}\nstdout: ${text.stdout}\nstderr: ${text.stderr}`).toBe(code);
  expect(text.stderr, cmd).not.toContain('    at ');
  expect(text.stdout, cmd).not.toContain('    at ');
  const lines = text.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `${cmd}: stderr should be one line`).toHaveLength(1);
  if (match) expect(lines[0], cmd).toMatch(match);

  const js = await smr([...args, '--json'], { timeoutMs });
  expect(js.code, `${cmd} --json\nstdout: ${js.stdout}\nstderr: ${js.stderr}`).toBe(code);
  expect(js.stderr, `${cmd} --json`).not.toContain('    at ');
  const out = js.stdout.trim();
  expect(out.split('\n'), `${cmd} --json: stdout should be one JSON object`).toHaveLength(1);
  const obj = JSON.parse(out) as { error: { code: unknown; message: unknown } };
  expect(Object.keys(obj)).toEqual(['error']);
  expect(Object.keys(obj.error).sort()).toEqual(['code', 'message']);
  expect(typeof obj.error.code).toBe('string');
  expect(typeof obj.error.message).toBe('string');
  expect((obj.error.message as string).length).toBeGreaterThan(0);
  if (match) expect(obj.error.message, `${cmd} --json`).toMatch(match);
}

async function connectionNames(s: Daemon): Promise<string[]> {
  const r = await smr(['status', '--json', '--state-dir', s.stateDir]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (r.json.connections as Array<{ name: string }>).map((c) => c.name);
}

function alive(d: Daemon): boolean {
  return d.proc.exitCode === null && d.proc.signalCode === null;
}

async function entries(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}

describe('bad input on the command line', () => {
  it('a wrong key at connect exits 7, the target logs a refusal, nothing is recorded', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    const wrong = await newKey();
    const base = ['connect', 'web', '--to', t.addr, '--path', dir, '--state-dir', s.stateDir];
    await expectCliError([...base, '--key-file', wrong], 7);
    await waitUntil(() => /refused/i.test(t.log()), 5000, 'the target to log a refusal').catch(
      (err: Error) => {
        throw new Error(`${err.message}\n--- target log ---\n${t.log()}`);
      },
    );
    // No key at all against a keyed target is refused the same way.
    await expectCliError(base, 7);
    expect(await connectionNames(s)).not.toContain('web');
    await expectCliError(['status', 'web', '--state-dir', s.stateDir], 2);
    expect(await entries(t.root)).not.toContain('web');
    expect(alive(t)).toBe(true);
  });

  it('an unknown connection exits 2 for status, disconnect and wait', async () => {
    const s = await startSource();
    for (const verb of ['status', 'disconnect', 'wait'])
      await expectCliError([verb, 'nope', '--state-dir', s.stateDir], 2, /nope/);
  });

  it('a verb with no daemon running exits 3', async () => {
    const empty = await tmp('smr-empty-');
    await expectCliError(['status', '--state-dir', empty], 3);
    await expectCliError(['status', 'web', '--state-dir', empty], 3);
    const dir = await tmp('smr-src-');
    await expectCliError(
      ['connect', 'web', '--to', '127.0.0.1:1', '--path', dir, '--state-dir', empty],
      3,
    );
  });

  it('a target path that leaves the root is refused with exit 2 and nothing is recorded', async () => {
    const parent = await tmp('smr-tp-');
    const t = await startTarget({ root: path.join(parent, 'r') });
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    const absolute = path.join(parent, 'abs');
    for (const tp of ['../x', absolute, 'ok/../../x', '..', '.']) {
      const args = ['connect', 'web', '--to', t.addr, '--path', dir, '--target-path', tp];
      await expectCliError(
        [...args, '--key-file', t.keyFile as string, '--state-dir', s.stateDir],
        2,
      );
      expect(await connectionNames(s), tp).toEqual([]);
    }
    expect(await entries(parent)).toEqual(['r']);
    expect(await entries(t.root)).toEqual([]);
    expect(alive(t)).toBe(true);
  });

  it('an unreachable target exits 3 and nothing is recorded', async () => {
    const s = await startSource();
    const dir = await tmp('smr-src-');
    const key = await newKey();
    const port = await closedPort();
    await expectCliError(
      [
        'connect',
        'web',
        '--to',
        `127.0.0.1:${port}`,
        '--path',
        dir,
        '--key-file',
        key,
        '--state-dir',
        s.stateDir,
      ],
      3,
    );
    expect(await connectionNames(s)).toEqual([]);
  });

  it('an unknown option exits 2 and the verb does nothing', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await expectCliError(
      [
        'connect',
        'web',
        '--to',
        t.addr,
        '--path',
        dir,
        ...(t.keyFile ? ['--key-file', t.keyFile] : []),
        '--bogus',
        '--state-dir',
        s.stateDir,
      ],
      2,
      /Unknown argument: bogus/,
    );
    expect(await connectionNames(s)).toEqual([]);
  });

  it('a bad duration exits 2', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await connect(s, 'web', t, dir);
    await expectCliError(['wait', 'web', '--timeout', '5x', '--state-dir', s.stateDir], 2, /5x/);
  });

  it('a target with no key and no --no-auth refuses to start', async () => {
    const parent = await tmp('smr-nokey-');
    const state = await tmp('smr-tstate-');
    const args = ['target', 'start', '--listen', '127.0.0.1:0', '--root', path.join(parent, 'r')];
    const r = await smr([...args, '--state-dir', state], { timeoutMs: 20_000 });
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.code, 'killed by the test: it did not refuse').not.toBe(-1);
    expect(r.stdout).not.toContain('listening');
    expect(r.stderr).not.toContain('    at ');
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/key/i);
    expect(lines[0]).toMatch(/--no-auth/);
    await expectCliError([...args, '--state-dir', state], r.code, /key/i, 20_000);
  });
});

describe('bad input on the wire', () => {
  it('malformed and oversized frames close that connection only; replication goes on', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'before.txt'), 'before');
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    // Keep the real connection busy while the attacks run.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await write(path.join(dir, 'during', `f${i}.txt`), `during ${i}\n`.repeat(i + 1));
        await sleep(30);
      }
    })();
    const key = await readKey(t.keyFile as string);
    // [what, raw bytes, bytes sent inside TLS after the raw ones (frames before authentication)]
    const attacks: Array<[string, Buffer, Buffer?]> = [
      ['garbage instead of the preamble', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['a wrong protocol version', Buffer.concat([rawPreamble(999), rawFrame(FRAME.HELLO, {})])],
      [
        'plaintext frames to a TLS target',
        Buffer.concat([rawPreamble(3, { tls: false }), rawFrame(FRAME.HELLO, {})]),
      ],
      [
        'frames instead of a ClientHello',
        Buffer.concat([rawPreamble(), rawFrame(FRAME.HELLO, {})]),
      ],
      [
        'a 0xFFFFFFFF length prefix',
        rawPreamble(),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 2]),
      ],
      ['a frame with a bad JSON header', rawPreamble(), badJsonFrame()],
      [
        'a header length beyond the frame',
        rawPreamble(),
        Buffer.from([0, 0, 0, 7, 1, 0x7f, 0xff, 0xff, 0xff, 1, 2]),
      ],
      ['a JSON header that is not an object', rawPreamble(), rawFrame(FRAME.HELLO, [1, 2, 3])],
      ['a too short frame', rawPreamble(), Buffer.from([0, 0, 0, 0])],
      [
        'a 64 KiB frame before authentication',
        rawPreamble(),
        rawFrame(FRAME.HELLO, { pad: 'x'.repeat(65536) }),
      ],
    ];
    try {
      for (const [what, bytes, inTls] of attacks) {
        const c = await RawClient.connect(t.port);
        c.write(bytes);
        if (inTls) {
          await c.startTls(key);
          c.write(inTls);
        }
        expect(await c.closedWithin(5000), `the target should close on ${what}`).toBe(true);
        expect(c.peerPreamble.subarray(0, 4).toString('ascii'), what).toBe('SMRP');
        expect(alive(t), `the target died of ${what}`).toBe(true);
        c.destroy();
      }
    } finally {
      writing = false;
      await writer;
    }
    await write(path.join(dir, 'after.txt'), 'after');
    await waitSynced(s, 'web');
    await expectSameTree(dir, path.join(t.root, 'web'));
    expect(alive(t)).toBe(true);
    const st = await status(s, 'web');
    expect(st.link).toBe('connected');
    expect(st.lastAckedSeq).toBe(st.lastCapturedSeq);
  });

  it('an authenticated peer cannot write outside the replica (.., absolute, symlinks)', async () => {
    const top = await tmp('smr-confine-');
    const outside = path.join(top, 'outside');
    const victim = path.join(top, 'victim');
    await fsp.mkdir(outside);
    await write(path.join(victim, 'keep.txt'), 'keep me\n');
    await fsp.chmod(path.join(victim, 'keep.txt'), 0o644);
    const t = await startTarget({ root: path.join(top, 'r') });
    const key = await readKey(t.keyFile as string);
    // Links planted inside the replica that point out of it.
    const replica = path.join(t.root, 'evil');
    await fsp.mkdir(replica);
    await fsp.symlink(outside, path.join(replica, 'link'));
    await fsp.symlink(victim, path.join(replica, 'vdir'));
    await fsp.symlink(path.join(victim, 'keep.txt'), path.join(replica, 'vfile'));
    await fsp.symlink('../..', path.join(replica, 'up'));

    const put = (p: string, data = 'pwned') => ({
      kind: 'put',
      meta: { p, first: true, end: true, off: 0, size: data.length, mode: 0o644, mtime: 1e12 },
      body: Buffer.from(data),
    });
    const attacks: Array<Array<{ kind: string; meta: Record<string, unknown>; body?: Buffer }>> = [
      [put('../../outside/dotdot.txt')],
      [put(path.join(outside, 'absolute.txt'))],
      [put('sub/../../../outside/middle.txt')],
      [put('link/through-link.txt')],
      [put('up/outside/through-relative-link.txt')],
      [{ kind: 'mkdir', meta: { p: 'link/newdir', mode: 0o755 } }],
      [{ kind: 'symlink', meta: { p: 'link/planted', target: '/etc/passwd' } }],
      [
        put('legit.txt', 'legit'),
        { kind: 'rename', meta: { from: 'legit.txt', to: 'link/moved.txt' } },
      ],
      [{ kind: 'rename', meta: { from: '../../victim/keep.txt', to: 'stolen.txt' } }],
      [{ kind: 'rename', meta: { from: 'vdir/keep.txt', to: 'stolen2.txt' } }],
      [{ kind: 'delete', meta: { p: 'vdir/keep.txt' } }],
      [{ kind: 'delete', meta: { p: '../../victim' } }],
      [{ kind: 'rmdir', meta: { p: '../../victim' } }],
      [write5('vfile'), write5('vdir/keep.txt'), write5('up/victim/keep.txt')],
      [
        { kind: 'attr', meta: { p: 'vfile', mode: 0o777, mtime: 1e12 } },
        { kind: 'attr', meta: { p: 'vdir/keep.txt', mode: 0o777, mtime: 1e12 } },
      ],
      [
        { kind: 'symlink', meta: { p: 'wire-link', target: outside } },
        put('wire-link/through-wire-link.txt'),
        { kind: 'mkdir', meta: { p: 'wire-link/d', mode: 0o755 } },
      ],
      [put('vfile', 'replaces the link, not the file it points to')],
    ];
    const checkNothingEscaped = async (what: string): Promise<void> => {
      expect(await entries(outside), what).toEqual([]);
      expect(await entries(victim), what).toEqual(['keep.txt']);
      expect(await fsp.readFile(path.join(victim, 'keep.txt'), 'utf8'), what).toBe('keep me\n');
      expect((await fsp.stat(path.join(victim, 'keep.txt'))).mode & 0o777, what).toBe(0o644);
      expect(await entries(top), what).toEqual(['outside', 'r', 'victim']);
      expect(await entries(t.root), what).toEqual(['evil']);
      expect(alive(t), `the target died after ${what}`).toBe(true);
    };
    for (const ops of attacks) {
      const what = ops.map((o) => `${o.kind} ${JSON.stringify(o.meta)}`).join(', ');
      await sendOps(t, key, ops);
      await checkNothingEscaped(what);
    }
    // An oversized frame from an authenticated peer closes it too.
    const { c, opened } = await openEvil(t, key);
    expect(opened.type).toBe(FRAME.OPENED);
    c.write(Buffer.from([0xff, 0xff, 0xff, 0xff, FRAME.OP, 0, 0, 0, 2]));
    expect(await c.closedWithin(5000), 'closed after an oversized frame').toBe(true);
    await checkNothingEscaped('an oversized frame');

    // And the target still serves a real source.
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'real.txt'), 'real');
    await connect(s, 'web', t, dir);
    await write(path.join(dir, 'later.txt'), 'later');
    await waitSynced(s, 'web');
    await expectSameTree(dir, path.join(t.root, 'web'));
  });
  it('an op the decoder refuses (a fractional offset) closes that session with its reason logged', async () => {
    const t = await startTarget();
    const key = await readKey(t.keyFile as string);
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    const { c, opened } = await openEvil(t, key);
    expect(opened.type).toBe(FRAME.OPENED);
    const seq = Number(opened.header.appliedSeq) + 1;
    const meta = { p: 'f', first: true, end: true, size: 1, sha256: 'ab'.repeat(32) };
    c.send(FRAME.OP, { seq, kind: 'delta', meta: { ...meta, ops: [['c', 0, 1.5, 0]] } });
    expect(await c.closedWithin(5000), 'the session closes').toBe(true);
    await waitUntil(() => /must be an integer/.test(t.log()), 5000, 'the reason in the target log');
    expect(alive(t)).toBe(true);
    await write(path.join(dir, 'b.txt'), 'b');
    await waitSynced(s, 'web');
    await expectSameTree(dir, path.join(t.root, 'web'));
  });
});

function badJsonFrame(): Buffer {
  const h = Buffer.from('{"nonce": "abc", oops', 'utf8');
  const p = Buffer.alloc(9);
  p.writeUInt32BE(5 + h.length, 0);
  p.writeUInt8(FRAME.HELLO, 4);
  p.writeUInt32BE(h.length, 5);
  return Buffer.concat([p, h]);
}

function write5(p: string): { kind: string; meta: Record<string, unknown>; body: Buffer } {
  return {
    kind: 'write',
    meta: { p, ranges: [[0, 5]], end: true, size: 5, mode: 0o777, mtime: 1e12 },
    body: Buffer.from('PWNED'),
  };
}

/** Opens the "evil" replica over a raw authenticated session (retrying while the last one ends). */
async function openEvil(t: TargetD, key: Buffer): Promise<Awaited<ReturnType<typeof rawSession>>> {
  for (let tries = 0; ; tries++) {
    const r = await rawSession(t.port, key, {
      connection: 'evil',
      targetPath: 'evil',
      epoch: 7,
      sourceId: 'bad-input-test',
    });
    if (r.opened.type === FRAME.REFUSED && r.opened.header.code === 'path-busy' && tries < 50) {
      r.c.destroy();
      await sleep(100);
      continue;
    }
    return r;
  }
}

/**
 * Sends `ops` then one harmless op in a fresh session, and waits until the target acknowledged the
 * harmless one (so every bad op was dealt with) or closed the connection.
 */
async function sendOps(
  t: TargetD,
  key: Buffer,
  ops: Array<{ kind: string; meta: Record<string, unknown>; body?: Buffer }>,
): Promise<void> {
  const { c, opened } = await openEvil(t, key);
  expect(opened.type, JSON.stringify(opened.header)).toBe(FRAME.OPENED);
  let seq = Number(opened.header.appliedSeq);
  for (const op of ops) c.send(FRAME.OP, { seq: ++seq, kind: op.kind, meta: op.meta }, op.body);
  const last = ++seq;
  c.send(FRAME.OP, { seq: last, kind: 'mkdir', meta: { p: `ok-${last}`, mode: 0o755 } });
  await c
    .waitFrame((f) => f.type === FRAME.ACK && Number(f.header.seq) >= last, 10_000, 'ACK')
    .catch(() => undefined); // closed by the target: also an acceptable answer
  c.destroy();
  await c.closed;
}
