// The mirror's per-file helpers against real files: the sampled test for shifted data that sends
// a file straight to the content-defined delta, answered by a target stand-in built from the
// delta engine's own signatures.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRanges, encodeFine, fineSignature, initHash } from '../../../src/delta/index.js';
import type { Reply, TargetRequest } from '../../../src/protocol/requests.js';
import { looksShifted } from '../../../src/source/mirror-file.js';

let dir: string;
let n = 0;

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function noise(len: number, seed: number): Buffer {
  const buf = Buffer.alloc(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

async function file(data: Buffer): Promise<string> {
  const p = path.join(dir, `f${n++}`);
  await fsp.writeFile(p, data);
  return p;
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-mirror-file-'));
  await initHash();
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('looksShifted (the mirror goes straight to the delta)', () => {
  /** A `request` answering `fine` from a local file, as the target would. */
  const fineFrom =
    (target: string) =>
    async (req: TargetRequest, body?: Buffer): Promise<Reply> => {
      const blockSize = req.op === 'fine' ? req.blockSize : 0;
      const sig = await fineSignature(target, decodeRanges(body ?? Buffer.alloc(0)), blockSize);
      return { header: { reqId: 1 }, body: Buffer.concat(encodeFine(sig)) };
    };

  it('yes for bytes inserted near the start; no for scattered rewrites, a small or missing file', async () => {
    const src = noise(3 * 1024 * 1024 + 5, 31);
    const source = await file(src);
    const inserted = await file(
      Buffer.concat([src.subarray(0, 5000), noise(1000, 32), src.subarray(5000)]),
    );
    expect(await looksShifted(source, 'x', src.length, fineFrom(inserted))).toBe(true);
    const scattered = Buffer.from(src);
    for (let i = 0; i < 20; i++) noise(4096, 40 + i).copy(scattered, i * 150_001);
    expect(await looksShifted(source, 'x', src.length, fineFrom(await file(scattered)))).toBe(
      false,
    );
    const missing = path.join(dir, 'no-such-target');
    expect(await looksShifted(source, 'x', src.length, fineFrom(missing))).toBe(false);
    const small = noise(100 * 1024, 33);
    const smallShifted = await file(Buffer.concat([noise(10, 34), small]));
    expect(await looksShifted(await file(small), 'x', small.length, fineFrom(smallShifted))).toBe(
      false,
    );
  });
});
