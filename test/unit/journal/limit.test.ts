// The journal's bound (`connect --queue-limit`, issue 17): past it appends throw QueueFullError,
// and what the journal holds never passes the bound by more than one record batch — whether the
// appends come one by one or all at once, and measured on disk as well as by stats().
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, QueueFullError } from '../../../src/journal/journal.js';

const MiB = 1024 * 1024;
/** The journal's largest write batch (append-queue.ts MAX_BATCH_BYTES). */
const BATCH = 8 * MiB;
const LIMIT = 32 * MiB;

let dir: string;
let j: Journal;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-limit-'));
  j = await Journal.open(dir);
  j.limit.set(LIMIT);
});

afterEach(async () => {
  await j.close().catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Bytes of the journal's files on disk. */
async function onDisk(): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += (await fsp.stat(path.join(e.parentPath, e.name))).size;
  return n;
}

const entry = (i: number) => ({
  kind: 'write',
  meta: { p: `f${i % 12}.bin` },
  data: Buffer.alloc(MiB, i),
});

describe('journal: the queue limit', () => {
  it('one append at a time: stops at the limit, over it by less than a batch', async () => {
    let taken = 0;
    let refused: unknown = null;
    for (let i = 0; i < 100 && !refused; i++)
      await j.append(entry(i)).then(
        () => taken++,
        (err: unknown) => (refused = err),
      );
    expect(refused).toBeInstanceOf(QueueFullError);
    expect(taken * MiB).toBeGreaterThanOrEqual(LIMIT - BATCH);
    expect(j.stats().bytes).toBeLessThanOrEqual(LIMIT + BATCH);
    expect(await onDisk()).toBeLessThanOrEqual(LIMIT + BATCH + MiB);
  });

  it('100 appends at once (a burst): still over it by less than a batch', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => j.append(entry(i))),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
    const peak = j.stats().bytes;
    console.log(
      `journal limit, 100 x 1 MiB at once: held ${(peak / MiB).toFixed(1)} MiB (limit 32)`,
    );
    expect(peak).toBeGreaterThanOrEqual(LIMIT - BATCH);
    expect(peak).toBeLessThanOrEqual(LIMIT + BATCH);
    expect(await onDisk()).toBeLessThanOrEqual(LIMIT + BATCH + MiB);
  });

  it('takes appends again once acks bring it under the limit', async () => {
    const seqs: number[] = [];
    for (let i = 0; ; i++) {
      const r = await j.append(entry(i)).catch(() => null);
      if (!r) break;
      seqs.push(r.seq);
    }
    await j.ack(seqs.at(-1) as number);
    await expect(j.append(entry(0))).resolves.toMatchObject({ seq: (seqs.at(-1) as number) + 1 });
  });
});
