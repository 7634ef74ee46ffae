// Small files in bulk (issue 13): a first mirror of a few thousand small files, with owners, ns
// mtimes, modes, xattrs, ACLs and hard links among them, travels many files per record — and the
// replica is what an independent walk (find, getfattr) and rsync -aHAXn say the source is.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  prng,
  sleep,
  status,
  startSource,
  startTarget,
  tmp,
  waitMirrored,
  waitSynced,
} from '../helpers/harness.js';
import { attrDifferences, rsyncDifferences } from '../helpers/attr-walk.js';

afterEach(cleanupAll);

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8' });

const FILES = 3000;

/** FILES small files in 30 directories; every 50th owned by another user, some with more. */
async function makeTree(dir: string): Promise<void> {
  const rnd = prng(13);
  for (let d = 0; d < 30; d++) await fsp.mkdir(path.join(dir, `d${d}`));
  const owned: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const p = path.join(dir, `d${i % 30}`, `f${i}.txt`);
    const size = Math.floor(rnd() * (i % 10 === 0 ? 60_000 : 4_000));
    await fsp.writeFile(p, Buffer.alloc(size, `${i}:`));
    if (i % 7 === 0) await fsp.chmod(p, 0o600);
    if (i % 50 === 0) owned.push(p);
  }
  sh('chown', '4321:4321', ...owned);
  sh('setfattr', '-n', 'user.tag', '-v', 'small', path.join(dir, 'd1', 'f1.txt'));
  sh('setfacl', '-m', 'u:65534:r', path.join(dir, 'd2', 'f2.txt'));
  await fsp.link(path.join(dir, 'd3', 'f3.txt'), path.join(dir, 'd4', 'f3-link.txt'));
  await fsp.writeFile(path.join(dir, 'd5', 'big.bin'), Buffer.alloc(300_000, 7));
  sh('touch', '-d', '2001-02-03 04:05:06.123456789', path.join(dir, 'd6', 'f6.txt'));
  for (let d = 0; d < 30; d++)
    sh('touch', '-d', `2003-02-03 04:05:${String(d).padStart(2, '0')}.5`, path.join(dir, `d${d}`));
}

describe('small files in bulk', { timeout: 180_000 }, () => {
  it('a first full mirror of thousands of small files: many per record, the replica exact', async () => {
    const t = await startTarget();
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await makeTree(dir);
    // A tree older than the watch (a directory changed within a second of it counts as new and
    // is listed again by live capture, which then sends its files one by one, racing the mirror).
    await sleep(2000);
    await connect(s, 'bulk', t, dir, ['--mirror', 'full']);
    const r = await waitMirrored(s.stateDir, 'bulk', '120s');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await waitSynced(s, 'bulk', '120s');
    const dst = path.join(t.root, 'bulk');
    expect(attrDifferences(dir, dst)).toEqual([]);
    expect(rsyncDifferences(dir, dst)).toEqual([]);
    // Many files per operation: far fewer seqs than entries (one each before the batches).
    const st = await status(s, 'bulk');
    expect(st.lastCapturedSeq).toBeLessThan(FILES / 4);
    expect(st.skipped.count).toBe(0);
  });
});
