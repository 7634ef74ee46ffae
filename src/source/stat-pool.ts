// The stats of a walk's names, taken on a worker thread (dir-lister.ts runs this code there). A
// reconciliation's walk spent a fifth of its time in lstat and a good part of its garbage
// collection on the four Date objects Node builds per Stats, all on the main thread while the
// second core sat idle; the worker takes them and hands back the few numbers a comparison reads,
// packed in one Float64Array per directory. Exactness: each number is the one Node's own Stats
// hold, so a comparison sees the same values either way.
import { lstatSync, type Stats } from 'node:fs';
import { STAT_STRUCT_SOURCE } from '../shared/fstatat-plan.js';

/** What a walk's comparisons read of an lstat (a Stats has all of it). */
export type WalkStat = Pick<
  Stats,
  | 'dev'
  | 'ino'
  | 'mode'
  | 'size'
  | 'mtimeMs'
  | 'ctimeMs'
  | 'isFile'
  | 'isDirectory'
  | 'isSymbolicLink'
>;

/** An lstat: the stat, null when the name is gone, or the error's code when it cannot be read. */
export type StatResult = WalkStat | string | null;

const S_IFMT = 0o170000;

/** A stat's type tests, from its mode (a packed stat's and a view's alike). */
export abstract class TypeOfMode {
  abstract readonly mode: number;
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
}

/** A stat as the worker packed it. */
class PackedStat extends TypeOfMode implements WalkStat {
  constructor(
    readonly mode: number,
    readonly dev: number,
    readonly ino: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
  ) {
    super();
  }
}

/** Numbers per path in a reply: status (0 gone, 1 stat, 2 error), then PackedStat's fields. */
export const FIELDS = 7;
/** Numbers per path where all are asked for (the mirror's scan): FIELDS', nlink, uid, gid, rdev. */
export const FULL_FIELDS = 11;

/**
 * What lstat says of a walked name: null when it is gone meanwhile, the error's code when it
 * cannot be read (ENAMETOOLONG past PATH_MAX, EACCES): such an entry is not silently left out.
 */
export function lstatResult(p: string | Buffer): Stats | string | null {
  try {
    return lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' || code === 'ENOTDIR' ? null : code;
  }
}

// The worker's stat code, as source text: it must run from dist/ and under the tests' TypeScript
// alike, and needs nothing but fs (and koffi, when fstatatPlan gives one). statDir takes a
// directory's names in one Buffer, each ended by a NUL. With a plan, they are fstatat'ed relative
// to the directory's fd (opened once for them all): no path resolved from the root per name, and
// no Stats with its Dates built (a one-thread walk of 1M entries took 3.8-4.0 s so, 5.5-6.2 s with
// lstatSync). A directory whose names are all ASCII passes each name as the string readdir gave
// (latin1: one char per byte, so ASCII is its own UTF-8) instead of a Buffer made per name. Each
// number is computed as Node computes its Stats' (a u64 to the nearest double; sec * 1e3 + nsec /
// 1e6 for the ms), so the two paths give equal values (stat-pool.test.ts).
// Where the plan cannot serve (no plan, koffi fails to load, a path of PATH_MAX bytes or more, a
// directory that opens with an error other than gone) the name is lstat'ed by its path as before.
export const STAT_WORKER = `${STAT_STRUCT_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
const { lstatSync, readdirSync } = require('node:fs');
const { isAscii } = require('node:buffer');
const { getSystemErrorName } = require('node:util');
const F = (workerData && workerData.fields) || ${FIELDS};
const NUL = Buffer.of(0);
const SLASH = Buffer.from('/');
let at = null;
try { at = workerData.plan && statAt(workerData.plan); } catch { at = null; }
function statAt(p) {
  const koffi = require(p.koffi);
  const l = koffi.load(null);
  const open = l.func(p.open), fstatat = l.func(p.fstatat), close = l.func(p.close);
  const fstatatText = l.func(p.fstatatText);
  const { buf, u32, u64, ms } = statStruct(p);
  const o = p.at;
  return {
    // A directory's fd; -2 when gone (its names are too), -3 when it must be lstat'ed by path.
    open(dir) {
      const fd = open(Buffer.concat([dir.length ? dir : SLASH, NUL]), p.dirFlags);
      if (fd >= 0) return fd;
      const code = getSystemErrorName(-koffi.errno());
      return code === 'ENOENT' || code === 'ENOTDIR' ? -2 : -3;
    },
    close(fd) { if (fd >= 0) close(fd); },
    // Fills out[i..] as the lstat path does; name: an ASCII string, or its bytes ended by a NUL.
    stat(fd, name, out, i, codes) {
      const r = typeof name === 'string' ? fstatatText(fd, name, buf, p.nofollow) : fstatat(fd, name, buf, p.nofollow);
      if (r !== 0) {
        const code = getSystemErrorName(-koffi.errno());
        if (code !== 'ENOENT' && code !== 'ENOTDIR') { out[i] = 2; codes.push(code); }
        return;
      }
      out[i] = 1; out[i + 1] = u32(o.mode); out[i + 2] = u64(o.dev);
      out[i + 3] = u64(o.ino); out[i + 4] = u64(o.size); out[i + 5] = ms(o.mtime);
      out[i + 6] = ms(o.ctime);
      if (F > ${FIELDS}) {
        out[i + 7] = p.nlinkWide ? u64(o.nlink) : u32(o.nlink); out[i + 8] = u32(o.uid);
        out[i + 9] = u32(o.gid); out[i + 10] = u64(o.rdev);
      }
    },
  };
}
function lstatInto(p, out, i, codes) {
  try {
    const st = lstatSync(p);
    out[i] = 1; out[i + 1] = st.mode; out[i + 2] = st.dev; out[i + 3] = st.ino;
    out[i + 4] = st.size; out[i + 5] = st.mtimeMs; out[i + 6] = st.ctimeMs;
    if (F > ${FIELDS}) { out[i + 7] = st.nlink; out[i + 8] = st.uid; out[i + 9] = st.gid; out[i + 10] = st.rdev; }
  } catch (err) {
    const code = (err && err.code) || 'error';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') { out[i] = 2; codes.push(code); }
  }
}
// The stats of directory d's n names, given one after the other in one Buffer (each ended by a
// NUL at ends[i]), and as readdir's latin1 strings: packed, F numbers each, error codes in order.
function statDir(d, joined, n, texts, ends) {
  const out = new Float64Array(n * F);
  const codes = [];
  const fd = at ? at.open(d) : -3;
  const ascii = isAscii(joined);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i];
    if (fd >= 0 && d.length + 1 + end - start < 4096)
      at.stat(fd, ascii ? texts[i] : joined.subarray(start, end + 1), out, i * F, codes);
    else if (fd !== -2) lstatInto(Buffer.concat([d, SLASH, joined.subarray(start, end)]), out, i * F, codes);
    start = end + 1;
  }
  if (at) at.close(fd);
  return { out, codes };
}
`;

/**
 * Packs `st` at `o` of `out` as the worker does, `fields` numbers (an error's code goes to the
 * caller's list).
 */
export function packStat(
  st: Stats | string | null,
  out: Float64Array,
  o: number,
  fields = FIELDS,
): void {
  out[o] = st === null ? 0 : typeof st === 'string' ? 2 : 1;
  if (st === null || typeof st === 'string') return;
  out[o + 1] = st.mode;
  out[o + 2] = st.dev;
  out[o + 3] = st.ino;
  out[o + 4] = st.size;
  out[o + 5] = st.mtimeMs;
  out[o + 6] = st.ctimeMs;
  if (fields <= FIELDS) return;
  out[o + 7] = st.nlink;
  out[o + 8] = st.uid;
  out[o + 9] = st.gid;
  out[o + 10] = st.rdev;
}

/** Whether the stat packed at `o` of `out` is a directory's (without making it an object). */
export function packedDir(out: Float64Array, o: number): boolean {
  return out[o] === 1 && ((out[o + 1] as number) & S_IFMT) === 0o040000;
}

/** The StatResult packed at `o` of `out`; `code`: its error code, when it is an error. */
export function statAt(out: Float64Array, o: number, code: string): StatResult {
  if (out[o] === 0) return null;
  if (out[o] === 2) return code;
  return new PackedStat(
    out[o + 1] as number,
    out[o + 2] as number,
    out[o + 3] as number,
    out[o + 4] as number,
    out[o + 5] as number,
    out[o + 6] as number,
  );
}

/**
 * The numbers of a stat packed at `o` of `out` (a worker's order: status, then mode, dev, ino,
 * size, mtimeMs, ctimeMs), read in place: the walk's StatView and the mirror scan's ListedStat.
 */
export class PackedFields extends TypeOfMode {
  constructor(
    public out: Float64Array,
    public o: number,
  ) {
    super();
  }
  get mode(): number {
    return this.out[this.o + 1] as number;
  }
  get dev(): number {
    return this.out[this.o + 2] as number;
  }
  get ino(): number {
    return this.out[this.o + 3] as number;
  }
  get size(): number {
    return this.out[this.o + 4] as number;
  }
  get mtimeMs(): number {
    return this.out[this.o + 5] as number;
  }
  get ctimeMs(): number {
    return this.out[this.o + 6] as number;
  }
}

/**
 * The stat packed at `o` of `out`, read in place: a walk moves it from name to name (no object
 * per name). Whoever keeps a stat past the step takes `copy()`.
 */
export class StatView extends PackedFields implements WalkStat {
  constructor() {
    super(new Float64Array(FIELDS), 0);
  }
  copy(): WalkStat {
    return statAt(this.out, this.o, '') as WalkStat;
  }
}
