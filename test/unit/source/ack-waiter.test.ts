// Waiting for the target's ack before a mirror compares a file's blocks: with a real journal, the
// comparison does not ask the target for its hashes until the path's last queued op is applied.
import { promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import { Journal } from '../../../src/journal/index.js';
import { AckWaiter } from '../../../src/source/ack-waiter.js';
import { MirrorSteps } from '../../../src/source/mirror-steps.js';
import { testCapture } from './capture-fixture.js';

let dir: string;
let journal: Journal;

beforeAll(() => initHash());

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-acks-'));
  journal = await Journal.open(path.join(dir, 'journal'));
});

afterEach(async () => {
  await journal.close().catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Settles within `ms`, or says it is still pending. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(r, ms, false))]);
}

describe('AckWaiter', () => {
  it('resolves once the seq is acknowledged, not before', async () => {
    await journal.append({ kind: 'mark', meta: {} });
    await journal.append({ kind: 'mark', meta: {} });
    const acks = new AckWaiter(journal);
    const wait = acks.until(2);
    await journal.ack(1);
    expect(await settlesWithin(wait, 50)).toBe(false);
    await journal.ack(2);
    expect(await settlesWithin(wait, 1000)).toBe(true);
    acks.close();
  });

  it('does not wait for a seq a restarted stream no longer holds, nor once closed', async () => {
    for (let i = 0; i < 3; i++) await journal.append({ kind: 'mark', meta: {} });
    const acks = new AckWaiter(journal);
    const stale = acks.until(3);
    await journal.reset(1); // a new epoch: seq 3 will never be acknowledged as this op
    expect(await settlesWithin(stale, 2500)).toBe(true);
    await journal.append({ kind: 'mark', meta: {} });
    const pending = acks.until(1);
    expect(await settlesWithin(pending, 50)).toBe(false);
    acks.close();
    expect(await settlesWithin(pending, 1000)).toBe(true);
  });
});

describe('the mirror block comparison', () => {
  it('asks the target for its block hashes only after the path’s queued ops were applied', async () => {
    const base = path.join(dir, 'src');
    await fsp.mkdir(base);
    writeFileSync(path.join(base, 'f'), 'new content');
    const acks = new AckWaiter(journal);
    const capture = testCapture(base, (e) => journal.append(e), { failed: () => undefined });
    capture.ledger.setBaseline(true);
    capture.hint('f');
    await vi.waitFor(() => expect(journal.lastSeq).toBe(1)); // the live put, not yet applied
    const askedAt: number[] = [];
    const remote = {
      blocks: async () => {
        askedAt.push(journal.ackedSeq);
        return { exists: false } as const;
      },
      request: () => Promise.reject(new Error('not used for a small file')),
    };
    const steps = new MirrorSteps(capture, acks, remote);
    const step = capture.enqueueStep(async () => {
      await steps.blocks('f', { mode: 0o644, mtimeMs: 0 });
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(askedAt).toEqual([]); // the target's copy is not yet the one the put leaves
    await journal.ack(1);
    await step;
    expect(askedAt).toEqual([1]);
    capture.stop();
    acks.close();
  });
});
