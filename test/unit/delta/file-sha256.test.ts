// The target's `sums` hash: a regular file's size and sha256, and null for anything else, told
// by the open file (no lstat first) without following a symlink or waiting on a fifo.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, promises as fsp, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSha256, sha256File } from '../../../src/delta/index.js';
import { readSmallStat, readSmallSync, SMALL_FILE_BYTES } from '../../../src/delta/small-file.js';

let dir = '';
afterEach(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('fileSha256', () => {
  it('hashes regular files of every size class, and nothing else', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-sha-'));
    const sizes = [0, 1, 4095, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 3 * 1024 * 1024 + 7];
    for (const n of sizes) {
      const body = Buffer.alloc(n, n % 251);
      if (n > 0) body[n - 1] = 7;
      const f = path.join(dir, `f${n}`);
      writeFileSync(f, body);
      expect(await fileSha256(f)).toEqual({ size: n, sha256: sha(body) });
      expect(await sha256File(f)).toBe(sha(body));
      const small = readSmallSync(f);
      if (n <= SMALL_FILE_BYTES) expect(small && sha(small)).toBe(sha(body));
      else expect(small).toBeNull();
    }
    symlinkSync('f1', path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'd'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    expect(await fileSha256(path.join(dir, 'link'))).toBeNull(); // not followed
    expect(await fileSha256(path.join(dir, 'd'))).toBeNull();
    expect(await fileSha256(path.join(dir, 'fifo'))).toBeNull(); // returns: no writer awaited
    expect(await fileSha256(path.join(dir, 'gone'))).toBeNull();
    const sock = path.join(dir, 'sock');
    const srv = net.createServer();
    await new Promise<void>((ok) => srv.listen(sock, ok));
    expect(await fileSha256(sock)).toBeNull();
    await new Promise((ok) => srv.close(ok));
    expect(await fileSha256(path.join(dir, 'f1', 'under-a-file'))).toBeNull();
  });
});

describe('readSmallStat', () => {
  it('reads a small regular file of the expected size, with its stat after the read', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-sha-'));
    for (const n of [0, 1, 4095, SMALL_FILE_BYTES]) {
      const body = Buffer.alloc(n, 3);
      const f = path.join(dir, `f${n}`);
      writeFileSync(f, body);
      const r = readSmallStat(f, n);
      expect(r && sha(r.buf)).toBe(sha(body));
      const st = lstatSync(f);
      expect(r?.st).toMatchObject({ ino: st.ino, size: n, mtimeMs: st.mtimeMs, mode: st.mode });
    }
  });

  it('gives no proof for what is not the expected small regular file', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-sha-'));
    const f = path.join(dir, 'f');
    writeFileSync(f, 'twelve bytes');
    // Grown or shrunk since the scan's stat: what was read, and a stat that says so.
    for (const said of [5, 12, 20]) {
      const r = readSmallStat(f, said);
      expect(r?.buf.toString()).toBe('twelve bytes');
      expect(r?.st.size).toBe(12);
    }
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(SMALL_FILE_BYTES + 1));
    expect(readSmallStat(big, SMALL_FILE_BYTES + 1)).toBeNull();
    expect(readSmallStat(big, SMALL_FILE_BYTES)).toBeNull();
    symlinkSync('f', path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'd'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    expect(readSmallStat(path.join(dir, 'link'), 12)).toBeNull(); // not followed
    expect(readSmallStat(path.join(dir, 'd'), 0)).toBeNull();
    expect(readSmallStat(path.join(dir, 'fifo'), 0)).toBeNull(); // returns: no writer awaited
    expect(readSmallStat(path.join(dir, 'gone'), 0)).toBeNull();
  });
});
