// Read-only verbs are read-only and `wait` says yes only when it is true (issue 10, points 3 and 4):
// after `connect --mirror none` verify reports the differences and sends nothing; `wait --for
// mirrored` with no mirror run, or after `mirror stop`, does not return 0; `wait` while
// replication is off or the target is remirror-required says why instead of "synced".
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  startSource,
  startTarget,
  status,
  smr,
  tmp,
  waitSynced,
  waitUntil,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** A source of a few files and a target that holds nothing of them. */
async function unmirrored(bigFiles = 1) {
  const src = await tmp('smr-src-');
  for (let i = 0; i < 20; i++) await write(path.join(src, `d${i % 3}`, `f${i}.txt`), `file ${i}\n`);
  for (let i = 0; i < bigFiles; i++)
    await write(path.join(src, `big${i || ''}.bin`), Buffer.alloc(256 * 1024, 7 + i));
  const t = await startTarget();
  const s = await startSource();
  await connect(s, 'ro', t, src, ['--mirror', 'none']);
  await waitUntil(async () => (await status(s, 'ro')).link === 'connected', 20_000, 'the link');
  const sd = ['--state-dir', s.stateDir];
  return { src, t, s, sd, replica: path.join(t.root, 'ro') };
}

describe('read-only verbs and an honest wait', () => {
  it('after connect --mirror none, verify and orphans report and send nothing; mirror start fills the index', async () => {
    const { src, s, sd, replica } = await unmirrored();
    const v = await smr(['verify', 'ro', '--json', ...sd]);
    expect(v.code, v.stderr).toBe(4);
    expect(v.json.differences.filter((d: { kind: string }) => d.kind === 'missing')).toHaveLength(
      24, // 20 files, 3 directories, big.bin
    );
    const checksum = await smr(['verify', 'ro', '--mode', 'checksum', ...sd]);
    expect(checksum.code).toBe(4);
    expect((await smr(['orphans', 'ro', '--json', ...sd])).code).toBe(0);
    expect((await smr(['tasks', 'ro', '--json', ...sd])).code).toBe(0);
    // wait answers for what was captured since connect: nothing, acknowledged.
    expect((await smr(['wait', 'ro', '--timeout', '30s', ...sd])).code).toBe(0);
    const st = await status(s, 'ro');
    expect(st.sent.bytes).toBe(0);
    expect(st.lastCapturedSeq).toBe(0);
    expect(await fsp.readdir(replica).catch(() => [])).toEqual([]);

    const m = await smr(['mirror', 'start', 'ro', '--wait', '--json', ...sd]);
    expect(m.code, m.stderr).toBe(0);
    await expectSameTree(src, replica);
    expect((await smr(['verify', 'ro', ...sd])).code).toBe(0);
    // Now the connection has a baseline: a new file is sent, an old one changed too.
    await write(path.join(src, 'd0', 'new.txt'), 'new');
    await fsp.appendFile(path.join(src, 'd1', 'f1.txt'), 'more');
    await waitSynced(s, 'ro');
    await expectSameTree(src, replica);
  }, 180_000);

  it('wait --for mirrored does not return 0 with no mirror run, nor after mirror stop', async () => {
    const { s, sd } = await unmirrored(6);
    const never = await smr(['wait', 'ro', '--for', 'mirrored', '--timeout', '10s', ...sd]);
    expect(never.code).toBe(2);
    expect(never.stderr).toMatch(/no mirror of ro is running \(it was never mirrored\)/);
    // A mirror slow enough to stop half way.
    expect((await smr(['limit', 'ro', '--bandwidth', '64KiB/s', ...sd])).code).toBe(0);
    expect((await smr(['mirror', 'start', 'ro', '--mode', 'full', ...sd])).code).toBe(0);
    await waitUntil(async () => (await status(s, 'ro')).sent.bytes > 0, 20_000, 'a first file');
    expect((await smr(['mirror', 'stop', 'ro', ...sd])).code).toBe(0);
    const stopped = await smr(['wait', 'ro', '--for', 'mirrored', '--timeout', '10s', ...sd]);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toMatch(/the last one was stopped/);
    expect((await status(s, 'ro')).mirror.state).toBe('stopped');
  }, 180_000);

  it('wait says why, with exit 2, while replication is off or the target needs a remirror', async () => {
    const { src, s, sd, replica } = await unmirrored();
    expect((await smr(['mirror', 'start', 'ro', '--wait', ...sd])).code).toBe(0);
    expect((await smr(['replicate', 'off', 'ro', ...sd])).code).toBe(0);
    await write(path.join(src, 'while-off.txt'), 'not captured');
    const off = await smr(['wait', 'ro', '--timeout', '10s', ...sd]);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/replication is off/);
    expect((await status(s, 'ro')).targetState).toBe('remirror-required');
    // On again: the remirror it starts by itself is waited for, then the trees are equal.
    expect((await smr(['replicate', 'on', 'ro', ...sd])).code).toBe(0);
    await waitSynced(s, 'ro');
    await expectSameTree(src, replica);
    expect((await status(s, 'ro')).targetState).toBe('ok');
  }, 180_000);
});
