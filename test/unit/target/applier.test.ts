// The in-order applier on a real replica directory with a real durable counter: ordering,
// duplicates, gaps, cumulative acks, NEED on a missing basis, replayed renames, multi-part puts,
// and delta parts proven against the source's sha256.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { DurableCounter } from '../../../src/shared/durable-counter.js';
import { Confiner } from '../../../src/target/confine.js';
import { Applier, type IncomingOp } from '../../../src/target/applier.js';
import { decodeOp } from '../../../src/protocol/ops.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';

let tmp: string;
let base: string;
let counterFile: string;
let counter: DurableCounter;
let applier: Applier | undefined;
let acks: number[];
let needs: Array<[string, number]>;
let failures: Array<[Error, number]>;

beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-applier-'));
  base = path.join(tmp, 'replica');
  await fsp.mkdir(base);
  counterFile = path.join(tmp, 'applied');
  counter = await DurableCounter.open(counterFile);
  acks = [];
  needs = [];
  failures = [];
});

afterEach(async () => {
  await applier?.stop().catch(() => undefined);
  applier = undefined;
  await counter.close().catch(() => undefined);
  await fsp.rm(tmp, { recursive: true, force: true });
});

function start(): Applier {
  applier = new Applier(new Confiner(base, new ModePolicy(false)), counter, {
    ack: (seq) => acks.push(seq),
    need: (p, seq) => needs.push([p, seq]),
    failed: (err, seq) => failures.push([err, seq]),
  });
  return applier;
}

/** An op as the session hands it over: through the protocol's decoder, as from the wire. */
const op = (seq: number, kind: string, meta: Record<string, unknown>, body = ''): IncomingOp => {
  const data = Buffer.from(body);
  return { seq, ...decodeOp(kind, meta, data), body: data };
};

/** Waits until everything up to `seq` is acknowledged. */
async function acked(seq: number): Promise<void> {
  await vi.waitFor(
    () => {
      if (applier?.failure) throw new Error(`applier failed: ${applier.failure.message}`);
      expect(acks.at(-1) ?? 0).toBeGreaterThanOrEqual(seq);
    },
    { timeout: 5000, interval: 5 },
  );
}

const read = (rel: string): Promise<string> => fsp.readFile(path.join(base, rel), 'utf8');
const sha256 = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');
const temps = async (): Promise<string[]> =>
  (await fsp.readdir(base)).filter((n) => n.startsWith('.smr-tmp-'));

/** A whole file in one put record. */
const put = (seq: number, p: string, text: string): IncomingOp =>
  op(seq, 'put', { p, off: 0, first: true, end: true, size: Buffer.byteLength(text) }, text);

describe('Applier', () => {
  it('applies ops in seq order', async () => {
    const a = start();
    a.enqueue(op(1, 'mkdir', { p: 'd', mode: 0o755 }));
    a.enqueue(put(2, 'd/f', 'one'));
    a.enqueue(op(3, 'rename', { from: 'd/f', to: 'd/g' }));
    a.enqueue(put(4, 'd/f', 'two'));
    a.enqueue(op(5, 'delete', { p: 'd/g' }));
    await acked(5);
    expect((await fsp.readdir(path.join(base, 'd'))).sort()).toEqual(['f']);
    expect(await read('d/f')).toBe('two');
    expect(a.appliedSeq).toBe(5);
    expect(needs).toEqual([]);
  });

  it('hold: nothing is applied while a listing holds it, and it reports the seq listed', async () => {
    const a = start();
    a.enqueue(op(1, 'mkdir', { p: 'd', mode: 0o755 }));
    await acked(1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = a.hold(async (seq) => {
      await gate;
      return seq;
    });
    a.enqueue(op(2, 'mkdir', { p: 'e', mode: 0o755 }));
    await new Promise((r) => setTimeout(r, 50));
    expect(a.appliedSeq).toBe(1);
    await expect(fsp.stat(path.join(base, 'e'))).rejects.toThrow();
    release();
    expect(await held).toBe(1);
    await acked(2);
    expect((await fsp.stat(path.join(base, 'e'))).isDirectory()).toBe(true);
  });

  it('ignores a duplicate seq', async () => {
    const a = start();
    a.enqueue(put(1, 'f', 'first'));
    a.enqueue(put(2, 'g', 'second'));
    await acked(2);
    a.enqueue(put(2, 'g', 'REPLAYED'));
    a.enqueue(put(1, 'f', 'REPLAYED'));
    a.enqueue(put(3, 'h', 'third'));
    await acked(3);
    expect([await read('f'), await read('g'), await read('h')]).toEqual([
      'first',
      'second',
      'third',
    ]);
    expect(a.failure).toBeNull();
  });

  it('ignores seqs at or below the durable counter after a restart', async () => {
    await counter.set(2);
    const a = start();
    expect(a.appliedSeq).toBe(2);
    a.enqueue(put(2, 'old', 'x'));
    a.enqueue(put(3, 'new', 'y'));
    await acked(3);
    expect(await fsp.readdir(base)).toEqual(['new']);
  });

  it('fails with protocol on a gap and applies nothing after it', async () => {
    const a = start();
    a.enqueue(put(1, 'f', 'one'));
    await acked(1);
    a.enqueue(put(3, 'skipped-ahead', 'three'));
    await vi.waitFor(() => expect(a.failure).not.toBeNull(), { timeout: 5000, interval: 5 });
    expect(a.failure).toBeInstanceOf(SmrError);
    expect((a.failure as SmrError).code).toBe('protocol');
    expect(a.appliedSeq).toBe(1);
    // The session hears of it once, with the seq that could not be applied.
    expect(failures.map(([e, seq]) => [e, seq])).toEqual([[a.failure, 3]]);
    a.enqueue(put(2, 'late', 'two')); // a stopped applier takes nothing more
    await new Promise((r) => setTimeout(r, 30));
    expect(await fsp.readdir(base)).toEqual(['f']);
    expect(acks.at(-1)).toBe(1);
  });

  it('acks cumulatively; the durable counter equals the acked seq', async () => {
    const a = start();
    for (let s = 1; s <= 20; s++) a.enqueue(put(s, `f${s}`, `n${s}`));
    await acked(20);
    expect(acks).toEqual([...acks].sort((x, y) => x - y));
    expect(new Set(acks).size).toBe(acks.length);
    expect(acks.at(-1)).toBe(20);
    expect(counter.value).toBe(20);
    const reread = await DurableCounter.open(counterFile);
    expect(reread.value).toBe(20);
    await reread.close();
  });

  it('asks for the whole file when a write has no file to patch', async () => {
    const a = start();
    a.enqueue(op(1, 'write', { p: 'missing.txt', ranges: [[0, 3]], end: true, size: 3 }, 'abc'));
    await acked(1);
    expect(needs).toEqual([['missing.txt', 1]]);
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it('patches an existing file in place with a write', async () => {
    await fsp.writeFile(path.join(base, 'f'), 'hello world');
    const a = start();
    a.enqueue(
      op(
        1,
        'write',
        {
          p: 'f',
          ranges: [
            [0, 1],
            [6, 1],
          ],
          end: true,
          size: 9,
        },
        'JW',
      ),
    );
    await acked(1);
    expect(await read('f')).toBe('Jello Wor');
    expect(needs).toEqual([]);
  });

  it('treats a rename replayed after it was done as a no-op', async () => {
    await fsp.writeFile(path.join(base, 'to'), 'moved content');
    const a = start();
    a.enqueue(op(1, 'rename', { from: 'from', to: 'to' }));
    await acked(1);
    expect(await read('to')).toBe('moved content');
    expect(await fsp.readdir(base)).toEqual(['to']);
    expect(needs).toEqual([]);
    // Both absent: the replica diverged, the source must send `to` again.
    a.enqueue(op(2, 'rename', { from: 'x', to: 'y' }));
    await acked(2);
    expect(needs).toEqual([['y', 2]]);
  });

  it('lands a put in two parts through a temp file', async () => {
    await fsp.writeFile(path.join(base, 'f'), 'old content');
    const a = start();
    a.enqueue(op(1, 'put', { p: 'f', off: 0, first: true }, 'hello '));
    await acked(1);
    expect(await temps()).toHaveLength(1);
    expect(await read('f')).toBe('old content'); // untouched until the last part
    const mtime = Date.UTC(2020, 0, 2, 3, 4, 5);
    a.enqueue(
      op(2, 'put', { p: 'f', tx: 1, off: 6, end: true, size: 11, mode: 0o640, mtime }, 'world'),
    );
    await acked(2);
    expect(await read('f')).toBe('hello world');
    expect(await temps()).toEqual([]);
    const st = await fsp.stat(path.join(base, 'f'));
    if (process.platform !== 'win32') expect(st.mode & 0o777).toBe(0o640);
    expect(Math.round(st.mtimeMs)).toBe(mtime);
    expect(needs).toEqual([]);
  });

  it('asks for the file when a later put part finds no temp file', async () => {
    const a = start();
    a.enqueue(op(1, 'put', { p: 'f', tx: 0, off: 6, end: true, size: 11 }, 'world'));
    await acked(1);
    expect(needs).toEqual([['f', 1]]);
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it('rebuilds a file from a delta proven by its sha256', async () => {
    await fsp.writeFile(path.join(base, 'f'), 'original content');
    const a = start();
    const want = 'original XYZtent';
    const ops = [
      ['c', 0, 9, 0],
      ['l', 9, 3],
      ['c', 12, 4, 12],
    ];
    a.enqueue(
      op(
        1,
        'delta',
        { p: 'f', first: true, end: true, size: 16, sha256: sha256(want), ops },
        'XYZ',
      ),
    );
    await acked(1);
    expect(await read('f')).toBe(want);
    expect(needs).toEqual([]);
    expect(await temps()).toEqual([]);
  });

  it('proves a delta in two parts, and one whose instructions are out of order, by its sha256', async () => {
    await fsp.writeFile(path.join(base, 'f'), 'original content');
    await fsp.writeFile(path.join(base, 'g'), 'original content');
    const a = start();
    const want = 'original XYZtent';
    // Two parts, in destination order: hashed as written.
    a.enqueue(op(1, 'delta', { p: 'f', first: true, ops: [['c', 0, 9, 0]] }));
    const end = { end: true, size: 16, sha256: sha256(want) };
    a.enqueue(
      op(
        2,
        'delta',
        {
          p: 'f',
          tx: 1,
          ops: [
            ['l', 9, 3],
            ['c', 12, 4, 12],
          ],
          ...end,
        },
        'XYZ',
      ),
    );
    // Out of destination order: proven by reading the rebuilt file back.
    const ops = [
      ['c', 12, 4, 12],
      ['l', 9, 3],
      ['c', 0, 9, 0],
    ];
    a.enqueue(op(3, 'delta', { p: 'g', first: true, ops, ...end }, 'XYZ'));
    // A wrong proof after an in-order rebuild still fails.
    const bad = { end: true, size: 16, sha256: sha256('original XYZtenT') };
    a.enqueue(op(4, 'delta', { p: 'f', first: true, ops: [['c', 0, 16, 0]], ...bad }));
    await acked(4);
    expect(await read('f')).toBe(want);
    expect(await read('g')).toBe(want);
    expect(needs).toEqual([['f', 4]]);
    expect(await temps()).toEqual([]);
  });

  it('never sees a delta op with a fractional offset: the decoder refuses it as a protocol error', () => {
    const meta = {
      p: 'f',
      first: true,
      end: true,
      size: 16,
      sha256: sha256('x'),
      ops: [['c', 0, 1.5, 0]],
    };
    expect(() => op(1, 'delta', meta)).toThrow(SmrError);
    expect(() => op(1, 'delta', meta)).toThrow(/integer/);
  });

  it('asks for the file on a delta whose sha256 does not match, leaving the original', async () => {
    await fsp.writeFile(path.join(base, 'f'), 'original content');
    const a = start();
    const ops = [
      ['c', 0, 9, 0],
      ['l', 9, 3],
      ['c', 12, 4, 12],
    ];
    const meta = {
      p: 'f',
      first: true,
      end: true,
      size: 16,
      sha256: sha256('something else'),
      ops,
    };
    a.enqueue(op(1, 'delta', meta, 'XYZ'));
    await acked(1);
    expect(needs).toEqual([['f', 1]]);
    expect(await read('f')).toBe('original content');
    expect(await temps()).toEqual([]);
  });

  it('skips a path-refused op and keeps serving', async () => {
    const outside = path.join(tmp, 'outside');
    await fsp.mkdir(outside);
    await fsp.symlink(outside, path.join(base, 'link'));
    const a = start();
    a.enqueue(put(1, 'link/evil', 'x'));
    a.enqueue(put(2, 'ok', 'fine'));
    await acked(2);
    expect(await fsp.readdir(outside)).toEqual([]);
    expect(await read('ok')).toBe('fine');
    expect(a.failure).toBeNull();
  });

  it('skips ops the file system cannot take (a name too long, an empty link) and goes on', async () => {
    // Found by the fuzz harness: these failed the session, and the source's retries failed the
    // same way for ever; a disk fault (ENOSPC) is different, and stops the applier (disk-full e2e).
    const a = start();
    const deep = 'a/'.repeat(2047) + 'b'; // 4096 bytes: the decoder's limit, past PATH_MAX here
    a.enqueue(put(1, deep, 'x'));
    a.enqueue(op(2, 'symlink', { p: 'empty-link', target: '' }));
    a.enqueue(put(3, 'huge', 'small'));
    a.enqueue(op(4, 'write', { p: 'huge', ranges: [[2 ** 53 - 10, 1]] }, 'y')); // EFBIG/EINVAL
    a.enqueue(put(5, 'ok', 'fine'));
    await acked(5);
    expect(await read('ok')).toBe('fine');
    expect(await read('huge')).toBe('small');
    expect((await fsp.readdir(base)).filter((n) => n !== 'a').sort()).toEqual(['huge', 'ok']);
    expect(a.failure).toBeNull();
    expect(failures).toEqual([]);
  });
});

describe('syncPaths', () => {
  async function files(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = path.join(base, `f${i}`);
      await fsp.writeFile(p, `data ${i}`);
      out.push(p);
    }
    return out;
  }

  /** A fresh copy of the module (it remembers whether syncfs works here) with `PATH` set. */
  async function freshSyncPaths(pathEnv: string) {
    vi.resetModules();
    const saved = process.env.PATH;
    process.env.PATH = pathEnv;
    try {
      return await import('../../../src/target/sync-paths.js');
    } finally {
      process.env.PATH = saved;
    }
  }

  it('syncs a big checkpoint with one syncfs, a small one (and gone paths) with fsyncs', async () => {
    const mod = await freshSyncPaths(process.env.PATH ?? '');
    const many = await files(mod.SYNCFS_MIN_PATHS);
    const opens = vi.spyOn(fsp, 'open');
    await mod.syncPaths(many, base);
    if (process.platform === 'linux') expect(opens).not.toHaveBeenCalled();
    await mod.syncPaths([...many.slice(0, 3), path.join(base, 'gone')], base);
    expect(opens).toHaveBeenCalledTimes(process.platform === 'linux' ? 4 : 4 + many.length);
    opens.mockRestore();
  });

  it('syncs a bulk checkpoint in the daemon itself: no `sync` program, no child process', async () => {
    if (process.platform !== 'linux') return;
    // Where no `sync` can be found (the helper that forked it per checkpoint fell back to fsyncs).
    const mod = await freshSyncPaths(path.join(tmp, 'no-such-bin'));
    const many = await files(mod.SYNCFS_MIN_PATHS);
    const opens = vi.spyOn(fsp, 'open');
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-such-bin');
    try {
      for (let i = 0; i < 3; i++) await mod.syncPaths(many, base);
      expect(opens).not.toHaveBeenCalled(); // every checkpoint was one syncfs
    } finally {
      process.env.PATH = saved;
      opens.mockRestore();
    }
  });

  it('falls back to an fsync per path when the file system cannot be synced whole', async () => {
    const mod = await freshSyncPaths(process.env.PATH ?? '');
    const many = await files(mod.SYNCFS_MIN_PATHS);
    const opens = vi.spyOn(fsp, 'open');
    try {
      // A root that cannot be opened: its syncfs cannot be made, each path is fsynced instead.
      await mod.syncPaths(many, path.join(tmp, 'no-such-root'));
      expect(opens).toHaveBeenCalledTimes(many.length);
    } finally {
      opens.mockRestore();
    }
  });
});
