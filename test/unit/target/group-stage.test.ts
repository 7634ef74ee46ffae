// Crash mode's target side on a real replica directory, real log and real durable counter: a
// stream without groups makes no stage at all; ops of an open group touch nothing; a marker commits
// and applies the group; acks never pass a committed group not yet applied; a stage "killed" at
// each step (closed without applying, then recovered as target start does) leaves the replica at
// one group boundary or the next; a torn log tail is cut.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeOp } from '../../../src/protocol/ops.js';
import { DurableCounter } from '../../../src/shared/durable-counter.js';
import { writeJsonFile } from '../../../src/shared/fsutil.js';
import { Applier, type IncomingOp } from '../../../src/target/applier.js';
import { Confiner } from '../../../src/target/confine.js';
import { GroupLog } from '../../../src/target/group-log.js';
import { recoverGroups } from '../../../src/target/group-recover.js';
import { GroupStage, stageDir } from '../../../src/target/group-stage.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';

let tmp: string;
let base: string;
let counterFile: string;
const EPOCH = 7;

beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-stage-'));
  base = path.join(tmp, 'replica');
  await fsp.mkdir(base);
  counterFile = path.join(tmp, 'applied.seq');
});

afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const op = (seq: number, kind: string, meta: Record<string, unknown>, body = ''): IncomingOp => {
  const data = Buffer.from(body);
  return { seq, ...decodeOp(kind, meta, data), body: data };
};
const put = (seq: number, p: string, text: string): IncomingOp =>
  op(seq, 'put', { p, off: 0, first: true, end: true, size: text.length, mode: 0o644 }, text);
const mark = (seq: number, group: number): IncomingOp => op(seq, 'mark', { group });

/** A session's pair: an applier on the replica and the stage in front of it. */
async function session(): Promise<{
  stage: GroupStage;
  applier: Applier;
  counter: DurableCounter;
  acks: number[];
}> {
  const counter = await DurableCounter.open(counterFile);
  if (counter.tag !== EPOCH) await counter.set(0, EPOCH);
  const acks: number[] = [];
  let stage: GroupStage | null = null;
  const applier = new Applier(new Confiner(base, new ModePolicy(false)), counter, {
    ack: (seq) => stage?.onApplied(seq),
    need: () => undefined,
    failed: (err) => {
      throw err;
    },
  });
  stage = await GroupStage.open(
    stageDir(tmp, 'app'),
    { targetPath: 'app', base, counterFile, epoch: EPOCH },
    counter.value,
    {
      enqueue: (o) => applier.enqueue(o),
      waitingBytes: () => applier.waitingBytes,
      ack: (seq) => acks.push(seq),
      failed: (err) => {
        throw err;
      },
    },
  );
  return { stage, applier, counter, acks };
}

async function end(s: Awaited<ReturnType<typeof session>>, applyFirst = true): Promise<void> {
  if (applyFirst) await s.stage.drain(() => false);
  await s.stage.close();
  await s.applier.stop();
  await s.counter.close();
}

const read = (p: string): Promise<string | null> =>
  fsp.readFile(path.join(base, p), 'utf8').catch(() => null);

describe('group stage', () => {
  it('applies nothing of an open group, all of it at its marker; acks stop at the marker', async () => {
    const s = await session();
    // Before any marker, ops are the applier's (the first mirror of a connection).
    expect(s.stage.accept(put(1, 'before.txt', 'b'))).toBe(false);
    s.applier.enqueue(put(1, 'before.txt', 'b'));
    expect(s.stage.accept(mark(2, 1))).toBe(false);
    s.applier.enqueue(mark(2, 1));
    expect(s.stage.active).toBe(true);
    expect(s.stage.accept(put(3, 'a.txt', 'A'))).toBe(true);
    expect(s.stage.accept(put(4, 'b.txt', 'B'))).toBe(true);
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(4)); // staged durably: acknowledged
    expect(await read('a.txt')).toBeNull(); // but not applied
    expect(s.stage.accept(mark(5, 2))).toBe(true);
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(5));
    expect(await read('a.txt')).toBe('A');
    expect(await read('b.txt')).toBe('B');
    expect(s.stage.resumeSeq).toBe(5);
    await end(s);
  });

  it('makes no stage directory for a stream without groups (file mode), one at the first marker', async () => {
    const dir = stageDir(tmp, 'app');
    const s = await session();
    expect(s.stage.accept(put(1, 'f.txt', 'f'))).toBe(false);
    s.applier.enqueue(put(1, 'f.txt', 'f'));
    await vi.waitFor(async () => expect(await read('f.txt')).toBe('f'));
    await expect(fsp.access(dir)).rejects.toThrow(); // nothing made for a file-mode session
    expect(s.stage.accept(mark(2, 1))).toBe(false);
    s.applier.enqueue(mark(2, 1));
    expect(s.stage.accept(put(3, 'g.txt', 'g'))).toBe(true);
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(3));
    await fsp.access(path.join(dir, 'ops.log'));
    await end(s);
    // The next session finds the stage active: ops stay staged until a marker.
    const again = await session();
    expect(again.stage.active).toBe(true);
    await end(again);
  });

  it('a kill before the commit point leaves the last group; after it, recovery rolls forward', async () => {
    let s = await session();
    s.stage.accept(mark(1, 1));
    s.applier.enqueue(mark(1, 1));
    s.stage.accept(put(2, 'one.txt', '1'));
    s.stage.accept(mark(3, 2));
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(3));
    // Group 3 staged, no marker yet: "killed" (closed without applying).
    s.stage.accept(put(4, 'one.txt', 'one, changed'));
    s.stage.accept(put(5, 'two.txt', '2'));
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(5));
    await end(s, false);
    expect(await recoverGroups(tmp, new ModePolicy(false))).toBe(0);
    expect(await read('one.txt')).toBe('1');
    expect(await read('two.txt')).toBeNull();
    // The source resumes after what is staged; the marker commits the group.
    s = await session();
    expect(s.stage.resumeSeq).toBe(5);
    s.stage.accept(mark(6, 3));
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(6));
    expect(await read('one.txt')).toBe('one, changed');
    expect(await read('two.txt')).toBe('2');
    await end(s);
  });

  it('a committed group not applied (a kill right after the redo record) is rolled forward at start', async () => {
    const dir = stageDir(tmp, 'app');
    await fsp.mkdir(dir, { recursive: true });
    const counter = await DurableCounter.open(counterFile);
    await counter.set(1, EPOCH);
    await counter.close();
    await writeJsonFile(path.join(dir, 'meta.json'), {
      targetPath: 'app',
      base,
      counterFile,
      epoch: EPOCH,
      active: true,
    });
    const log = await GroupLog.open(path.join(dir, 'ops.log'));
    for (const o of [put(2, 'x.txt', 'x'), put(3, 'y.txt', 'y'), mark(4, 9), put(5, 'z.txt', 'z')])
      await log.append(o);
    await log.sync();
    await log.close();
    // A torn record after them (a kill in mid-append) is cut, not read.
    await fsp.appendFile(path.join(dir, 'ops.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    await writeJsonFile(path.join(dir, 'redo.json'), { group: 9, lastSeq: 4 });
    expect(await recoverGroups(tmp, new ModePolicy(false))).toBe(1);
    expect(await read('x.txt')).toBe('x');
    expect(await read('y.txt')).toBe('y');
    expect(await read('z.txt')).toBeNull(); // the open group after it stays staged
    await expect(fsp.access(path.join(dir, 'redo.json'))).rejects.toThrow();
    const after = await DurableCounter.open(counterFile);
    expect(after.value).toBe(4);
    await after.close();
    const left = await GroupLog.open(path.join(dir, 'ops.log'));
    expect(left.lastSeq).toBe(5);
    await left.close();
    // Recovering again changes nothing.
    expect(await recoverGroups(tmp, new ModePolicy(false))).toBe(0);
  });

  it('a new epoch empties the stage', async () => {
    let s = await session();
    s.stage.accept(mark(1, 1));
    s.applier.enqueue(mark(1, 1));
    s.stage.accept(put(2, 'old.txt', 'o'));
    await vi.waitFor(() => expect(s.acks.at(-1)).toBe(2));
    await end(s, false);
    const c = await DurableCounter.open(counterFile);
    await c.set(0, EPOCH + 1);
    await c.close();
    const dir = stageDir(tmp, 'app');
    await GroupStage.open(dir, { targetPath: 'app', base, counterFile, epoch: EPOCH + 1 }, 0, {
      enqueue: () => undefined,
      waitingBytes: () => 0,
      ack: () => undefined,
      failed: () => undefined,
    }).then((st) => {
      expect(st.active).toBe(false);
      expect(st.resumeSeq).toBe(0);
      return st.close();
    });
    s = await session();
    await end(s);
  });
});
