// The index's entries on a real SQLite file: every field round-trips exactly (ns times, 64-bit
// inodes, byte names and link targets), block hashes are kept/dropped/replaced as documented,
// hard links are found by inode, and everything survives a reopen.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DIRTY_UNSURE,
  PathIndex,
  fromKey,
  type BlockList,
  type IndexEntry,
} from '../../src/index/index.js';
import { openDatabase } from '../../src/index/sqlite.js';
import { indexEntry } from '../helpers/scratch-index.js';
import { allStamps } from '../helpers/stamps.js';
import { SmrError } from '../../src/shared/errors.js';

const b = (s: string): Buffer => Buffer.from(s);
const latin = (s: string): Buffer => Buffer.from(s, 'latin1');

let dir: string;
let file: string;
const opened: PathIndex[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-index-'));
  file = path.join(dir, 'conn', 'index.db');
});
afterEach(() => {
  for (const i of opened.splice(0)) i.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function openIndex(): PathIndex {
  const i = PathIndex.open(file);
  opened.push(i);
  return i;
}

const entry = indexEntry;

function blocks(n: number, seed = 1n): BlockList {
  const hashes = new BigUint64Array(n);
  for (let i = 0; i < n; i++) hashes[i] = (seed << 32n) + BigInt(i) * 0x9e3779b97f4a7c15n;
  return { blockSize: 16384, size: n * 16384 - 7, hashes };
}

describe('index entries', () => {
  it('round-trips every field exactly, and keeps them across a reopen', () => {
    const idx = openIndex();
    const full = entry({
      size: 2 ** 40 + 3,
      mtimeNs: -1_234_567_890_123n, // before the epoch
      mode: 0o104755, // setuid
      uid: 4_294_967_294,
      gid: 65534,
      dev: 2n ** 64n - 2n, // unsigned 64-bit values above 2^63
      ino: 2n ** 63n + 12345n,
      sha256: Buffer.alloc(32, 0xab),
      attrDigest: Buffer.alloc(32, 0xcd),
      seq: 2 ** 40,
    });
    const link = entry({
      type: 'symlink',
      link: latin('../t\xe4rget\xff'),
      size: 10,
      mode: 0o120777,
    });
    const dev = entry({ type: 'char', rdev: 0x10305n, mode: 0o20660, size: 0 });
    idx.put(b('d/file'), full);
    idx.put(latin('d/\xff\xfelink'), link);
    idx.put(b('d/tty'), dev);
    for (const t of ['dir', 'fifo', 'socket', 'block'] as const)
      idx.put(b(`t/${t}`), entry({ type: t }));
    idx.close();

    const again = openIndex();
    expect(again.get(b('d/file'))).toEqual(full);
    expect(again.get(latin('d/\xff\xfelink'))).toEqual(link);
    expect(again.get(b('d/tty'))).toEqual(dev);
    for (const t of ['dir', 'fifo', 'socket', 'block'] as const) {
      expect(again.get(b(`t/${t}`))?.type).toBe(t);
    }
    expect(again.get(b('d/missing'))).toBeNull();
    expect(again.count()).toBe(7);
  });

  it('replaces an entry on put and forgets it on delete', () => {
    const idx = openIndex();
    idx.put(b('f'), entry({ size: 1, seq: 3 }));
    idx.put(b('f'), entry({ size: 2, seq: 9 }));
    expect(idx.get(b('f'))).toMatchObject({ size: 2, seq: 9 });
    expect(idx.count()).toBe(1);
    expect(idx.delete(b('f'), 10)).toBe(true);
    expect(idx.delete(b('f'), 11)).toBe(false);
    expect(idx.get(b('f'))).toBeNull();
  });

  it('updates every field of an entry whose inode stays, and follows an inode that changes', () => {
    const idx = openIndex();
    idx.put(b('f'), entry({ ino: 5n }));
    const changed = entry({
      ino: 5n,
      type: 'symlink',
      size: 99,
      mtimeNs: 42n,
      mode: 0o120777,
      uid: 7,
      gid: 8,
      rdev: 3n,
      link: b('t'),
      sha256: Buffer.alloc(32, 1),
      attrDigest: b('x'),
      seq: 77,
    });
    idx.put(b('f'), changed);
    expect(idx.get(b('f'))).toEqual(changed);
    expect(idx.findByInode(2049n, 5n).map((r) => r.path.toString())).toEqual(['f']);
    idx.put(b('f'), entry({ ino: 6n }));
    expect(idx.findByInode(2049n, 5n)).toEqual([]);
    expect(idx.findByInode(2049n, 6n).map((r) => r.path.toString())).toEqual(['f']);
    idx.put(b('f'), entry({ ino: 6n, dev: 9n }));
    expect(idx.findByInode(2049n, 6n)).toEqual([]);
    expect(idx.findByInode(9n, 6n).map((r) => r.path.toString())).toEqual(['f']);
  });

  it('keeps, replaces and drops block hashes as documented', () => {
    const idx = openIndex();
    const first = blocks(5, 1n);
    idx.put(b('f'), entry(), first);
    expect(idx.getBlocks(b('f'))).toEqual(first);

    idx.put(b('f'), entry({ mode: 0o100600 })); // attributes only: hashes stay
    expect(idx.getBlocks(b('f'))).toEqual(first);

    const second = blocks(70_000, 2n); // a 1 GiB file's list
    idx.put(b('f'), entry({ size: 2 }), second);
    const got = idx.getBlocks(b('f')) as BlockList;
    expect([got.blockSize, got.size]).toEqual([second.blockSize, second.size]);
    expect(Buffer.from(got.hashes.buffer).equals(Buffer.from(second.hashes.buffer))).toBe(true);

    idx.put(b('f'), entry(), null); // content not known to match: dropped
    expect(idx.getBlocks(b('f'))).toBeNull();

    idx.put(b('g'), entry(), blocks(3));
    idx.put(b('g'), entry({ type: 'dir' })); // no longer a file: nothing to keep
    expect(idx.getBlocks(b('g'))).toBeNull();
    idx.put(b('g'), entry());
    expect(idx.getBlocks(b('g'))).toBeNull(); // and a new file does not inherit old hashes

    idx.put(b('h'), entry(), blocks(0));
    expect(idx.getBlocks(b('h'))).toEqual(blocks(0));
  });

  it('writes nothing for a put that changes nothing, and everything for one that does', () => {
    const idx = openIndex();
    const e = entry({ link: null, sha256: Buffer.alloc(32, 3), attrDigest: b('d') });
    expect(idx.put(b('f'), e, blocks(3))).toBe(true);
    idx.put(b('g'), entry({ type: 'dir', ino: 9n }));
    const wal = (): number => fs.statSync(`${file}-wal`).size;
    const before = wal();
    // The same entry: with the same hashes, keeping them, and (a directory) dropping none.
    expect(idx.put(b('f'), { ...e }, blocks(3))).toBe(false);
    expect(idx.put(b('f'), { ...e })).toBe(false);
    expect(idx.put(b('g'), entry({ type: 'dir', ino: 9n }), null)).toBe(false);
    expect(wal()).toBe(before);
    // Any field, or the hashes, differing: written.
    const changes: Array<Partial<IndexEntry>> = [
      { size: 11 },
      { mtimeNs: e.mtimeNs + 1n },
      { mode: 0o100600 },
      { uid: 1 },
      { gid: 2 },
      { dev: 7n },
      { ino: 8n },
      { sha256: Buffer.alloc(32, 4) },
      { sha256: null },
      { attrDigest: b('e') },
      { attrDigest: null },
      { seq: 2 },
    ];
    for (const c of changes) {
      expect(idx.put(b('f'), { ...e, ...c }, blocks(3)), JSON.stringify(Object.keys(c))).toBe(true);
      expect(idx.get(b('f'))).toEqual({ ...e, ...c });
      expect(idx.put(b('f'), e, blocks(3))).toBe(true); // back
    }
    expect(idx.put(b('f'), e, blocks(3, 2n))).toBe(true);
    expect(idx.getBlocks(b('f'))).toEqual(blocks(3, 2n));
    expect(idx.put(b('f'), e, blocks(4, 2n))).toBe(true);
    expect(idx.put(b('f'), e, { ...blocks(4, 2n), blockSize: 4096 })).toBe(true);
    expect(idx.getBlocks(b('f'))?.blockSize).toBe(4096);
    expect(idx.put(b('f'), e, null)).toBe(true);
    expect(idx.getBlocks(b('f'))).toBeNull();
    expect(idx.put(b('f'), e, null)).toBe(false);
    expect(idx.put(b('f'), e, blocks(1))).toBe(true);
    expect(idx.put(b('l'), entry({ type: 'symlink', link: b('t1') }))).toBe(true);
    expect(idx.put(b('l'), entry({ type: 'symlink', link: b('t2') }))).toBe(true);
    expect(idx.get(b('l'))?.link).toEqual(b('t2'));
    expect(idx.put(b('l'), entry({ type: 'symlink', link: b('t2') }))).toBe(false);
  });

  it('hands each walked entry out with its dirty flags as its page was read', () => {
    const idx = openIndex();
    for (const p of ['d', 'd/a', 'd/b', 'e']) idx.put(b(p), entry());
    idx.markDirty(b('d/b'), 2);
    idx.markDirty(b('e'), 1 | 4);
    idx.markDirty(b('not-an-entry'), 1);
    const flags = (it: Iterable<{ path: Buffer; flags?: number }>) =>
      [...it].map((r) => [r.path.toString(), r.flags]);
    expect(flags(idx.entries())).toEqual([
      ['d', 0],
      ['d/a', 0],
      ['d/b', 2],
      ['e', 5],
    ]);
    expect(flags(idx.children(b('d')))).toEqual([
      ['d/a', 0],
      ['d/b', 2],
    ]);
  });

  it('records many entries at once, each built from the one held (a directory replaced drops its tree)', () => {
    const idx = openIndex();
    idx.put(b('d'), entry({ type: 'dir', seq: 2 }));
    idx.put(b('d/x'), entry({ seq: 2 }), blocks(1));
    idx.put(b('k'), entry({ seq: 3 }), blocks(2));
    const seen: Array<number | null> = [];
    const paths = [b('d'), b('k'), b('n')];
    idx.putEach(paths, (i, old) => {
      seen.push(old?.seq ?? null);
      if (i === 1) return { entry: entry({ seq: 9, size: 4 }) }; // blocks omitted: kept
      return { entry: entry({ seq: 9, ino: BigInt(i + 5) }), blocks: blocks(1, 7n) };
    });
    expect(seen).toEqual([2, 3, null]);
    expect([...idx.entries()].map((r) => [r.path.toString(), r.entry.type, r.entry.seq])).toEqual([
      ['d', 'file', 9],
      ['k', 'file', 9],
      ['n', 'file', 9],
    ]);
    expect([...idx.tombstonesAbove(0)].map((t) => `${t.path}@${t.seq}`)).toEqual(['d@9']);
    expect(idx.getBlocks(b('k'))).toEqual(blocks(2));
    expect(idx.getBlocks(b('n'))).toEqual(blocks(1, 7n));
    // A failure part-way commits none of them.
    expect(() =>
      idx.putEach([b('p'), b('q')], (i) => {
        if (i === 1) throw new Error('boom');
        return { entry: entry() };
      }),
    ).toThrow('boom');
    expect(idx.get(b('p'))).toBeNull();
  });

  it('returns block hashes as an aligned copy the caller owns', () => {
    const idx = openIndex();
    idx.put(b('f'), entry(), blocks(4));
    const got = idx.getBlocks(b('f')) as BlockList;
    got.hashes[0] = 0n;
    expect(idx.getBlocks(b('f'))).toEqual(blocks(4));
  });

  it('deletes block hashes with their entries (no leftovers for new rows)', () => {
    const idx = openIndex();
    for (let i = 0; i < 20; i++) idx.put(b(`d/f${i}`), entry({ ino: BigInt(i) }), blocks(2));
    idx.delete(b('d/f0'), 2);
    idx.deleteTree(b('d'), 3);
    expect(idx.count()).toBe(0);
    idx.close();
    const raw = openDatabase(file, true); // look at the tables themselves
    expect(raw.prepare('SELECT count(*) FROM blocks').pluck().get()).toBe(0);
    raw.close();
  });

  it('finds every path holding an inode (hard links, renames)', () => {
    const idx = openIndex();
    idx.put(b('a/one'), entry({ ino: 77n }));
    idx.put(b('b/two'), entry({ ino: 77n }));
    idx.put(b('b/other'), entry({ ino: 78n }));
    idx.put(b('c/big'), entry({ ino: 2n ** 64n - 1n, dev: 2n ** 63n }));
    expect(idx.findByInode(2049n, 77n).map((r) => r.path.toString())).toEqual(['a/one', 'b/two']);
    expect(idx.findByInode(2050n, 77n)).toEqual([]);
    expect(idx.findByInode(2n ** 63n, 2n ** 64n - 1n).map((r) => r.path.toString())).toEqual([
      'c/big',
    ]);
  });

  it('refuses bad paths and bad entries with a usage error, changing nothing', () => {
    const idx = openIndex();
    expect(() => idx.put(b('/abs'), entry())).toThrow(SmrError);
    expect(() => idx.put(b('a/../b'), entry())).toThrow(/\.\./);
    expect(() => idx.put(b('f'), entry({ sha256: Buffer.alloc(31) }))).toThrow(/32 bytes/);
    expect(() => idx.put(b('f'), entry({ type: 'door' as never }))).toThrow(/unknown type/);
    expect(() => idx.put(b('f'), entry({ size: 1.5 }))).toThrow(SmrError);
    expect(idx.count()).toBe(0);
  });

  it('refuses a file that is not an index, and one of another schema version', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    expect(() => PathIndex.open(file)).toThrow(/damaged/);
    fs.rmSync(file);
    const raw = openDatabase(file, false);
    raw.exec('PRAGMA user_version = 7; CREATE TABLE x (y);');
    raw.close();
    const err = (() => {
      try {
        PathIndex.open(file);
      } catch (e) {
        return e as SmrError;
      }
      return null;
    })();
    expect(err?.code).toBe('journal-corrupt');
    expect(err?.message).toMatch(/schema version 7/);
  });

  it('brings a version 1 file up to date, its rows kept and their ctime unknown', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const raw = openDatabase(file, false);
    // Version 1 as it was written: the entries table without ctime_ns (the other tables as now).
    raw.exec(
      'CREATE TABLE entries (key BLOB PRIMARY KEY, type INTEGER NOT NULL, size INTEGER NOT NULL, ' +
        'mtime_ns INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, ' +
        'gid INTEGER NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL, rdev INTEGER NOT NULL, ' +
        'link BLOB, sha256 BLOB, attr_digest BLOB, seq INTEGER NOT NULL, blocks_id INTEGER) ' +
        'WITHOUT ROWID, STRICT; CREATE INDEX entries_inode ON entries (dev, ino); ' +
        'CREATE TABLE blocks (id INTEGER PRIMARY KEY, block_size INTEGER NOT NULL, ' +
        'size INTEGER NOT NULL, hashes BLOB NOT NULL) STRICT; ' +
        'CREATE TABLE dirty (key BLOB PRIMARY KEY, flags INTEGER NOT NULL) WITHOUT ROWID, STRICT; ' +
        'CREATE TABLE tombstones (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID, STRICT; ' +
        'CREATE INDEX tombstones_seq ON tombstones (seq); ' +
        'CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID, STRICT; ' +
        "INSERT INTO entries VALUES (x'66', 1, 5, 123, 33188, 7, 8, 1, 2, 0, NULL, NULL, NULL, 4, NULL); " +
        'PRAGMA user_version = 1;',
    );
    raw.close();
    const idx = openIndex();
    expect(idx.get(b('f'))).toMatchObject({ size: 5, mtimeNs: 123n, uid: 7, seq: 4, ctimeNs: 0n });
    idx.put(b('g'), entry({ ctimeNs: 99n }));
    idx.close();
    opened.splice(0);
    expect(openIndex().get(b('g'))?.ctimeNs).toBe(99n);
  });

  it('opens read-only for readers, refusing writes', () => {
    openIndex().put(b('f'), entry());
    const ro = PathIndex.open(file, { readonly: true });
    opened.push(ro);
    expect(ro.get(b('f'))).not.toBeNull();
    expect(() => ro.put(b('g'), entry())).toThrow(SmrError);
    expect(() => PathIndex.open(path.join(dir, 'nope.db'), { readonly: true })).toThrow(SmrError);
  });

  it('stampsAhead: each entry in key order with the fields a reconciliation compares, and its flags', async () => {
    const i = openIndex();
    const big = 0xffff_ffff_ffff_fff0n; // read back unsigned, then as Node's Stats hold it
    i.put(b('d'), entry({ type: 'dir', mode: 0o40755, size: 4096, ino: 7n }));
    // Its mtime is a double exactly; the others' (the default, ...789) has none: NaN, which
    // equals no stat's, as the BigInt itself would.
    i.put(
      b('d/f'),
      entry({
        attrDigest: b('x'),
        mtimeNs: 1_700_000_000_123_456_768n,
        ctimeNs: 1_700_000_001_000_000_000n,
      }),
    );
    i.put(b('d/l'), entry({ type: 'symlink', mode: 0o120777, link: latin('t\xff'), dev: big }));
    i.markDirty(b('d/l'), DIRTY_UNSURE);
    // The int64 extremes: 2^63 - 1 has no double (its nearest, 2^63, converts back saturated to
    // it in SQL); -2^63 has one; an inode past 2^53 is rounded as Number() rounds it.
    const ends = { mtimeNs: 2n ** 63n - 1n, ctimeNs: -(2n ** 63n), ino: 2n ** 62n + 1n };
    i.put(b('d/m'), entry(ends));
    const { rows } = await allStamps(i);
    // The worker's packed rows are the same, field for field (exact ns, unsigned dev, link bytes).
    const ahead = await allStamps(i, 0);
    expect(ahead.fromWorker).toBe(4);
    expect(ahead.rows).toEqual(rows);
    expect(rows.map((r) => fromKey(r.key).toString('latin1'))).toEqual(['d', 'd/f', 'd/l', 'd/m']);
    expect(rows.map(({ key: _k, ...r }) => r)).toEqual([
      {
        type: 'dir',
        size: 4096,
        mtimeNs: NaN,
        mode: 0o755,
        dev: 2049,
        ino: 7,
        link: null,
        stamped: false,
        ctimeNs: 0,
        flags: 0,
      },
      {
        type: 'file',
        size: 10,
        mtimeNs: 1_700_000_000_123_456_768,
        mode: 0o644,
        dev: 2049,
        ino: 1,
        link: null,
        stamped: true,
        ctimeNs: 1_700_000_001_000_000_000,
        flags: 0,
      },
      {
        type: 'symlink',
        size: 10,
        mtimeNs: NaN,
        mode: 0o777,
        dev: Number(big),
        ino: 1,
        link: latin('t\xff'),
        stamped: false,
        ctimeNs: 0,
        flags: DIRTY_UNSURE,
      },
      {
        type: 'file',
        size: 10,
        mtimeNs: NaN,
        mode: 0o644,
        dev: 2049,
        ino: Number(2n ** 62n + 1n),
        link: null,
        stamped: false,
        ctimeNs: -(2 ** 63),
        flags: 0,
      },
    ]);
  });
  it('stampsAhead: pages past the first rows come from the worker, or from here when it fails', async () => {
    const i = openIndex();
    const names = Array.from({ length: 2500 }, (_, n) => b(`d${n % 7}/f${n}`));
    i.putEach(names, (n) => ({ entry: entry({ ino: BigInt(n + 1), size: n }) }));
    i.markDirty(b('d3/f1000'), DIRTY_UNSURE);
    const inline = await allStamps(i, Infinity);
    expect(inline.rows).toHaveLength(2500);
    expect(inline.fromWorker).toBe(0);
    for (const first of [0, 1000, 4096]) {
      const got = await allStamps(i, first);
      expect(got.rows).toEqual(inline.rows);
      expect(got.fromWorker).toBe(Math.max(0, 2500 - Math.ceil(first / 1024) * 1024));
    }
    // The cursor reads each row in place (row), as next() hands it out; more() refuses while
    // rows of the page are left (they would be dropped).
    const ahead = i.stampsAhead(0);
    const inPlace: unknown[] = [];
    do
      for (; ahead.has(); ahead.advance()) {
        const { key, type, size, mtimeNs, mode, dev, ino, link, stamped, ctimeNs, flags } =
          ahead.row;
        inPlace.push({ key, type, size, mtimeNs, mode, dev, ino, link, stamped, ctimeNs, flags });
        if (inPlace.length === 1500) await expect(ahead.more()).rejects.toThrow(/left/);
      }
    while (await ahead.more());
    expect(inPlace).toEqual(inline.rows);
    ahead.close();
    // A worker that cannot open the file (it was moved away under the open connection): every
    // row is still read, here.
    fs.renameSync(file, `${file}.moved`);
    const moved = await allStamps(i, 0);
    expect(moved.fromWorker).toBe(0);
    expect(moved.rows).toEqual(inline.rows);
    fs.renameSync(`${file}.moved`, file);
  });
});
