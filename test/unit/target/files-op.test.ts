// The `files` op (several small whole files in one record): decoded strictly, applied in order as
// whole files with their attributes, a refused file skipped and counted while the rest land, and a
// disk fault in the middle leaving only whole files, the op unacknowledged and fine to apply again.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DurableCounter } from '../../../src/shared/durable-counter.js';
import { SmrError } from '../../../src/shared/errors.js';
import { Confiner } from '../../../src/target/confine.js';
import { Applier, type IncomingOp } from '../../../src/target/applier.js';
import { decodeOp } from '../../../src/protocol/ops.js';
import { MAX_BATCH_FILES } from '../../../src/protocol/files-op.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';
import { cleanupAll } from '../../helpers/harness.js';
import { mountSmallFs, smallFsUnavailable } from '../../helpers/small-fs.js';

const noFs = await smallFsUnavailable();

let tmp: string;
let counter: DurableCounter;
let applier: Applier | undefined;
let acks: number[];
let failures: Array<[Error, number]>;

beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-files-op-'));
  counter = await DurableCounter.open(path.join(tmp, 'applied'));
  [acks, failures] = [[], []];
});

afterEach(async () => {
  await applier?.stop().catch(() => undefined);
  applier = undefined;
  await counter.close().catch(() => undefined);
  await cleanupAll();
  await fsp.rm(tmp, { recursive: true, force: true });
});

function start(base: string, c = counter): Applier {
  applier = new Applier(new Confiner(base, new ModePolicy(false)), c, {
    ack: (seq) => acks.push(seq),
    need: () => undefined,
    failed: (err, seq) => failures.push([err, seq]),
  });
  return applier;
}

type File = [string, string, number?, number?];

/** A `files` op as the session hands it over: through the protocol's decoder. */
function files(seq: number, list: File[]): IncomingOp {
  const body = Buffer.concat(list.map(([, text]) => Buffer.from(text)));
  const f = list.map(([p, text, mode = 0o644, mtime = 1_600_000_000_000]) => [
    p,
    Buffer.byteLength(text),
    mode,
    mtime,
  ]);
  return { seq, ...decodeOp('files', { f }, body), body };
}

const temps = async (dir: string): Promise<string[]> =>
  (await fsp.readdir(dir)).filter((n) => n.startsWith('.smr-tmp-'));

describe('files op: decoding', () => {
  it('refuses a body that is not exactly the files, a bad tuple, and too many files', () => {
    const bad = (meta: unknown, body = ''): string => {
      try {
        decodeOp('files', meta, Buffer.from(body));
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(SmrError);
        return (err as SmrError).code;
      }
    };
    expect(bad({ f: [['a', 2, 0o644, 0]] }, 'abc')).toBe('protocol');
    expect(bad({ f: [['a', 4, 0o644, 0]] }, 'abc')).toBe('protocol');
    expect(bad({ f: [['a', 3, 0o644]] }, 'abc')).toBe('protocol');
    expect(bad({ f: [['../x', 3, 0o644, 0, { uid: 1 }]] }, 'abc')).toBe('protocol');
    expect(bad({ f: [] })).toBe('protocol');
    const many = Array.from({ length: MAX_BATCH_FILES + 1 }, (_, i) => [`f${i}`, 0, 0o644, 0]);
    expect(bad({ f: many })).toBe('protocol');
    expect(bad({ f: [['a', 3, 0o600, 5, { uid: 0, gid: 0, ns: '5000000' }]] }, 'abc')).toBe(
      'accepted',
    );
  });
});

describe('files op: applying', () => {
  it('lands every file whole, in order, with mode and mtime, under one seq', async () => {
    const base = path.join(tmp, 'replica');
    await fsp.mkdir(base);
    const a = start(base);
    a.enqueue(
      files(1, [
        ['d/one', 'first', 0o600, 1_500_000_000_000],
        ['d/two', ''],
        ['three', 'x'.repeat(60_000)],
        ['d/one', 'first again'], // the same name twice: the later one wins, as in order
      ]),
    );
    await vi.waitFor(() => expect(acks).toEqual([1]));
    expect(await fsp.readFile(path.join(base, 'd/one'), 'utf8')).toBe('first again');
    expect(await fsp.readFile(path.join(base, 'd/two'), 'utf8')).toBe('');
    expect((await fsp.stat(path.join(base, 'three'))).size).toBe(60_000);
    const two = await fsp.stat(path.join(base, 'd/two'));
    expect(two.mode & 0o7777).toBe(0o644);
    expect(two.mtimeMs).toBe(1_600_000_000_000);
    expect([...(await temps(base)), ...(await temps(path.join(base, 'd')))]).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('skips a refused file (a symlinked parent), counts it, and applies the others', async () => {
    const base = path.join(tmp, 'replica');
    const outside = path.join(tmp, 'outside');
    await fsp.mkdir(base);
    await fsp.mkdir(outside);
    await fsp.symlink(outside, path.join(base, 'link'));
    const a = start(base);
    a.enqueue(
      files(1, [
        ['before', 'b'],
        ['link/evil', 'x'],
        ['after', 'a'],
      ]),
    );
    await vi.waitFor(() => expect(acks).toEqual([1]));
    expect(await fsp.readdir(outside)).toEqual([]);
    expect(await fsp.readFile(path.join(base, 'before'), 'utf8')).toBe('b');
    expect(await fsp.readFile(path.join(base, 'after'), 'utf8')).toBe('a');
    expect(a.confiner.refusals.counts).toEqual({ path: 1 });
    expect(failures).toEqual([]);
  });

  it.skipIf(noFs !== null)(
    'a full disk in the middle: whole files only, no ack, and the same op applies later',
    async () => {
      const fs = await mountSmallFs(4);
      const base = path.join(fs.dir, 'replica');
      await fsp.mkdir(base);
      // Leave room for about one more 60 KiB file.
      const filler = path.join(fs.dir, 'filler');
      await fsp.writeFile(filler, Buffer.alloc(Math.max(0, (await fs.freeBytes()) - 100 * 1024)));
      const list: File[] = ['a', 'b', 'c', 'd'].map((n) => [n, n.repeat(60 * 1024)]);
      const a = start(base);
      a.enqueue(files(1, list));
      await vi.waitFor(() => expect(failures.length).toBe(1));
      expect((failures[0]?.[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(failures[0]?.[1]).toBe(1);
      expect(acks).toEqual([]);
      // Each name holds its whole file or nothing: never a part of one.
      for (const [n, text] of list) {
        const got = await fsp.readFile(path.join(base, n), 'utf8').catch(() => null);
        if (got !== null) expect(got).toBe(text);
      }
      // Space again, and the source sends the unacknowledged op again (a new session).
      await fsp.rm(filler);
      await a.stop();
      const b = start(base);
      b.enqueue(files(1, list));
      await vi.waitFor(() => expect(acks).toEqual([1]));
      for (const [n, text] of list)
        expect(await fsp.readFile(path.join(base, n), 'utf8')).toBe(text);
      expect(await temps(base)).toEqual([]);
    },
  );
});
