// How mirror steps enter the pipeline (a real work queue): a pause sets steps aside in order and
// resume runs them; a file cut short by the pause goes first; a stop ends them without running.
import { describe, expect, it } from 'vitest';
import { MirrorPace } from '../../../src/source/mirror-pace.js';
import { RenameWindow } from '../../../src/source/rename-window.js';
import type { MirrorCursor } from '../../../src/source/send-gate.js';
import { WorkQueue } from '../../../src/source/work-queue.js';

function setup() {
  const ran: string[] = [];
  const queue = new WorkQueue(
    { check: async () => undefined, settle: async () => undefined, failed: () => undefined },
    new RenameWindow(),
  );
  const pipeline = {
    enqueueStep: (s: () => Promise<void>) => queue.enqueueStep(s),
    detach: (s: () => Promise<void>) => void queue.enqueueStep(s),
    failed: (err: Error) => ran.push(`failed: ${err.message}`),
    get backlog() {
      return queue.backlog;
    },
  };
  const steps = {
    continueWhole: async (c: MirrorCursor) => void ran.push(`rest of ${c.rel} from ${c.at.off}`),
  };
  const pace = new MirrorPace({ pipeline, queuedBytes: () => 0 }, steps);
  return { pace, ran, queue };
}

const cursor = (rel: string): MirrorCursor => ({
  rel,
  at: { tx: 7, off: 1024 },
  ino: 1,
  size: 4096,
  mtimeMs: 0,
  seq: 0,
});

describe('MirrorPace', () => {
  it('sets steps reached while paused aside, in order, and runs them on resume', async () => {
    const { pace, ran, queue } = setup();
    const id = ++pace.runId;
    pace.paused = true;
    const a = pace.step(id, async () => void ran.push('a'));
    const b = pace.step(id, async () => void ran.push('b'));
    await queue.idle();
    expect(ran).toEqual([]);
    pace.paused = false;
    pace.requeueDeferred();
    await Promise.all([a, b]);
    expect(ran).toEqual(['a', 'b']);
  });

  it('the rest of a file a pause cut short goes before the steps set aside after it', async () => {
    const { pace, ran, queue } = setup();
    const id = ++pace.runId;
    const big = pace.step(id, async (gate) => {
      ran.push('big, first parts');
      pace.paused = true; // the mirror pauses while the file is being sent
      expect(await gate.beforePart()).toBe('stop');
      gate.stopped(cursor('big'));
    });
    const next = pace.step(id, async () => void ran.push('next'));
    await big;
    await queue.idle();
    pace.paused = false;
    pace.requeueDeferred();
    await next;
    await queue.idle();
    expect(ran).toEqual(['big, first parts', 'rest of big from 1024', 'next']);
  });

  it('a stop ends the steps set aside without running them, and the scan gate throws', async () => {
    const { pace, ran, queue } = setup();
    const id = ++pace.runId;
    pace.paused = true;
    const a = pace.step(id, async () => void ran.push('a'));
    await queue.idle();
    pace.runId++; // stopped
    pace.requeueDeferred();
    await a;
    expect(ran).toEqual([]);
    await expect(pace.gate(id)).rejects.toThrow('mirror stopped');
  });
});
