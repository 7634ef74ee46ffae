// restore-write's special entries as a source that is not root: a fifo is made with every
// attribute; a device (mknod needs root) is skipped with a log line and counted, never silent.
// Run in a child process as uid 65534 (the test runs as root, as CI does), against the build.
import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/harness.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const script = `
import { writeRestore } from ${JSON.stringify(path.join(ROOT, 'dist', 'source', 'restore-write.js'))};
const [dest] = process.argv.slice(1);
const metas = [
  { t: 'c', mode: 0o620, uid: 0, gid: 0, ns: '1000000000', size: 0 },
  { t: 'p', mode: 0o640, uid: 65534, gid: 65534, ns: '2000000123', size: 0 },
];
const ask = async () => ({ header: {}, body: Buffer.from(JSON.stringify({ metas })) });
const entry = (p, type, mode, rdev) => ({ path: p, type, size: 0, mtimeMs: 0, mode, ...(rdev ? { rdev } : {}) });
const steps = [
  { rel: 'c', t: entry('c', 'char', 0o620, [1, 3]), action: 'create', attrs: [], bytes: 0, replace: false },
  { rel: 'p', t: entry('p', 'fifo', 0o640), action: 'create', attrs: [], bytes: 0, replace: false },
];
const out = { done: [], failed: [], skipped: [] };
await writeRestore({
  ask, dest, whole: false,
  done: (s) => out.done.push(s.rel),
  failed: (s, why) => out.failed.push([s.rel, why]),
  skipped: (s, why) => out.skipped.push([s.rel, why]),
}, steps);
console.log(JSON.stringify(out));
`;

describe('restore of special entries, not as root', () => {
  it('makes the fifo, and skips the device with a log line and a count', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-restore-special-'));
    chownSync(dir, 65534, 65534);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(out.done).toEqual(['p']);
    expect(out.failed).toEqual([]);
    expect(out.skipped).toEqual([
      ['c', expect.stringMatching(/^char device c not created: .*root/)],
    ]);
    expect(r.stderr).toMatch(/restore: c skipped: char device c not created/);
    expect(lstatSync(path.join(dir, 'c'), { throwIfNoEntry: false })).toBeUndefined();
    const p = lstatSync(path.join(dir, 'p'), { bigint: true });
    expect(p.isFIFO()).toBe(true);
    expect(Number(p.mode & 0o7777n)).toBe(0o640);
    expect(p.mtimeNs).toBe(2_000_000_123n);
    expect(await fsp.readdir(dir)).toEqual(['p']); // no temp file left behind
  });
});
