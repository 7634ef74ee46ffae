// What changed between two consecutive read-only snapshots, found three ways, timed on real
// snapshot pairs of a SQLite database being written: watcher hints (the files; read them whole,
// as today's capture does), `btrfs subvolume find-new` (changed extents since a generation), and
// `btrfs send --no-data -p A B | btrfs receive --dump` (the operations between two snapshots).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generation } from './btrfs-lib.mjs';

function timed(fn) {
  const t0 = performance.now();
  const v = fn();
  return { ms: performance.now() - t0, v };
}

/** Changed extents of snapshot `b` since `gen`: [{ file, offset, len }]. */
function findNew(b, gen) {
  const r = spawnSync('btrfs', ['subvolume', 'find-new', b, String(gen)], { encoding: 'utf8' });
  const out = [];
  for (const l of r.stdout.split('\n')) {
    const m = /file offset (\d+) len (\d+) .* flags \S+ (.+)$/.exec(l);
    if (m) out.push({ offset: Number(m[1]), len: Number(m[2]), file: m[3] });
  }
  return out;
}

/** The write operations `btrfs send --no-data` lists between parent `a` and `b`. */
function sendNoData(a, b) {
  const r = spawnSync(
    'sh',
    ['-c', `btrfs send -q --no-data -p "${a}" "${b}" | btrfs receive --dump`],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 2 ** 20,
    },
  );
  if (r.status !== 0) throw new Error(`btrfs send/receive --dump failed: ${r.stderr}`);
  const writes = [];
  for (const l of r.stdout.split('\n')) {
    const m = /^(?:write|update_extent)\s+(\S+)\s+offset=(\d+)\s+len=(\d+)/.exec(l);
    if (m) writes.push({ file: m[1], offset: Number(m[2]), len: Number(m[3]) });
  }
  return writes;
}

function readRanges(root, ranges) {
  const buf = Buffer.alloc(1 << 20);
  let bytes = 0;
  for (const r of ranges) {
    const fd = fs.openSync(path.join(root, r.file), 'r');
    for (let off = r.offset; off < r.offset + r.len;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, r.offset + r.len - off), off);
      if (n <= 0) break;
      bytes += n;
      off += n;
    }
    fs.closeSync(fd);
  }
  return bytes;
}

function readWhole(root, files) {
  let bytes = 0;
  for (const f of files) bytes += fs.readFileSync(path.join(root, f)).length;
  return bytes;
}

/** Measures the three ways on `pairs` consecutive snapshot pairs (paths) of one subvolume. */
export function measureDiscovery(pairs) {
  const rows = [];
  for (const [a, b] of pairs) {
    const gen = generation(a) + 1;
    const fn = timed(() => findNew(b, gen));
    const send = timed(() => sendNoData(a, b));
    const files = [...new Set(fn.v.map((e) => e.file))];
    const ranges = timed(() => readRanges(b, fn.v));
    const whole = timed(() => readWhole(b, files));
    rows.push({
      findNewMs: fn.ms,
      extents: fn.v.length,
      changedBytes: fn.v.reduce((s, e) => s + e.len, 0),
      sendMs: send.ms,
      sendWrites: send.v.length,
      sendBytes: send.v.reduce((s, e) => s + e.len, 0),
      readRangesMs: ranges.ms,
      readWholeMs: whole.ms,
      wholeBytes: whole.v,
      files: files.length,
    });
  }
  return rows;
}
