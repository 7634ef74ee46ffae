// The ops of one captured file carry the mode and mtime of the stat taken before the read: a
// write racing the read then leaves the target's mtime older than the source's, and any later
// comparison of the two sees the difference (a stat after the read would call old bytes current).
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import { captureFile } from '../../../src/source/file-capture.js';
import type { QueuedOp } from '../../../src/source/queued-op.js';

beforeAll(() => initHash());

describe('captureFile', () => {
  it("does not hand a small file's pooled buffer over to the journal (issue 18)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smr-fcap-'));
    writeFileSync(path.join(dir, 'f'), 'x'.repeat(200));
    const ops: QueuedOp[] = [];
    const append = async (e: QueuedOp) => (ops.push(e), { seq: ops.length });
    await captureFile(path.join(dir, 'f'), 'f', undefined, append, false, 200);
    const op = ops[0] as QueuedOp & { data: Buffer; handOver?: boolean };
    expect(op.data.length).toBe(200);
    // A slice of Node's shared pool: the hot tail must copy it rather than keep the slab alive.
    expect(op.data.buffer.byteLength).toBeGreaterThan(op.data.length);
    expect(op.handOver).toBe(false);
  });

  it.each([
    ['small, whole', 100, false],
    ['large, whole', 3 * 1024 * 1024, false],
    ['changed blocks', 100_000, true],
  ])('%s: the last op carries the stamp taken before the read', async (_what, size, basis) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smr-fcap-'));
    const abs = path.join(dir, 'f');
    writeFileSync(abs, Buffer.alloc(size, 1));
    const before = { mode: 0o100600, mtimeMs: statSync(abs).mtimeMs - 5000 };
    const ops: QueuedOp[] = [];
    const append = async (e: QueuedOp) => (ops.push(e), { seq: ops.length });
    const prev = basis
      ? { blockSize: 16384, size, hashes: new BigUint64Array(Math.ceil(size / 16384)) }
      : undefined;
    const res = await captureFile(abs, 'f', prev, append, false, size, { stamp: before });
    expect(res?.bytes).toBeGreaterThan(0);
    const last = ops[ops.length - 1] as QueuedOp & { meta: { mode?: number; mtime?: number } };
    expect(last.meta).toMatchObject({ mode: 0o600, mtime: before.mtimeMs });
  });
});
