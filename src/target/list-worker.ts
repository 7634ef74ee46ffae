// The replica listing's worker code (list-dirs.ts starts it): a directory's names and, per name,
// what the listing's common entry needs, as numbers. A 1M-file listing took ~20 s of the target's
// main thread (a path walk for the lstat and another for the xattr list of every name, BigInt
// stats, a FileMeta each) while the source waited for it and the second core idled; here two
// workers list, each name is fstatat'ed relative to its directory's fd, and only the size of its
// xattr name list is asked (no buffer copied in and out): by listxattrat(2) relative to the same
// fd where the kernel has it (Linux 6.13; half the cost of llistxattr's walk of the whole path),
// else by llistxattr.
//
// Exactness: only the common entry is built from these numbers — a regular file with one name or
// a directory, whose xattr name list is empty, with a path short enough for llistxattr — and each
// number is the one the inline listing reads (mtime in ms as Node computes it from sec and nsec;
// the stamp's ns from the same two). Anything else (a symlink, a special, a hard-linked file,
// xattrs or ACLs, an error other than "gone") is marked for the inline path, per name.
import { STAT_STRUCT_SOURCE } from '../shared/fstatat-plan.js';

/** Numbers per name: status, mode, uid, gid, size, mtime sec, mtime nsec. */
export const FIELDS = 7;
/** Status: gone meanwhile (not listed). */
export const GONE = 0;
/** Status: the common entry, from these numbers. */
export const PLAIN = 1;
/** Status: the inline path lists this name (lstat by path, attributes read whole). */
export const INLINE = 2;

/** Declarations the worker binds beside fstatatPlan's (the size of an entry's xattr name list). */
export const XATTR_CALLS = {
  llistxattr: 'intptr_t llistxattr(const uint8_t *path, uint8_t *list, size_t size)',
  syscall: 'long syscall(long nr, ...)',
  // listxattrat's number: one table for every architecture from 424 on (Linux 6.13).
  listxattrat: 465,
};

// As source text: it runs from dist/ and under the tests' TypeScript alike. Directories asked for
// are listed in turn; replies go in batches of about BATCH names (a message per directory cost
// more than its names' stats).
const BATCH = 1024;
export const LIST_WORKER = `${STAT_STRUCT_SOURCE}
const { parentPort, workerData: w } = require('node:worker_threads');
const { readdirSync } = require('node:fs');
const { isAscii } = require('node:buffer');
const { getSystemErrorName } = require('node:util');
const p = w.plan;
const koffi = require(p.koffi);
const l = koffi.load(null);
const open = l.func(p.open), close = l.func(p.close);
const fstatat = l.func(p.fstatat), fstatatText = l.func(p.fstatatText);
const llistxattr = l.func(w.calls.llistxattr);
const syscall = l.func(w.calls.syscall);
const NR = w.calls.listxattrat;
// Tried once on "/": an older kernel says ENOSYS, a container's seccomp filter may say EPERM.
let at = false;
try { at = Number(syscall(NR, 'int', -100, 'str', '/', 'uint', p.nofollow, 'void *', null, 'size_t', 0)) >= 0; } catch { at = false; }
const F = ${FIELDS}, PLAIN = ${PLAIN}, INLINE = ${INLINE};
const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFDIR = 0o040000;
const { buf, u32, i32, u64 } = statStruct(p);
const o = p.at;
// A path for llistxattr (without listxattrat): the directory's bytes once, each name after them.
const path = Buffer.alloc(4096 + 512);
const gone = (code) => code === 'ENOENT' || code === 'ENOTDIR';
// Fills out[i..]; true for the common entry (whose xattr list is still to be asked).
function statOne(fd, name, out, i) {
  const r = typeof name === 'string' ? fstatatText(fd, name, buf, p.nofollow) : fstatat(fd, name, buf, p.nofollow);
  if (r !== 0) {
    out[i] = gone(getSystemErrorName(-koffi.errno())) ? ${GONE} : INLINE;
    return false;
  }
  const mode = u32(o.mode);
  const type = mode & S_IFMT;
  if (!(type === S_IFDIR || (type === S_IFREG && u32(o.nlink) <= 1))) { out[i] = INLINE; return false; }
  out[i] = PLAIN; out[i + 1] = mode; out[i + 2] = u32(o.uid); out[i + 3] = u32(o.gid);
  out[i + 4] = u64(o.size);
  out[i + 5] = u32(o.mtime) + i32(o.mtime + 4) * 4294967296; out[i + 6] = u32(o.mtime + 8);
  return true;
}
function listOne({ id, dir }) {
  const d = Buffer.from(dir.buffer, dir.byteOffset, dir.byteLength);
  let names;
  try {
    names = readdirSync(d, { encoding: 'latin1' });
  } catch {
    return { id, n: 0 }; // vanished or unreadable: listed as nothing, as the inline path does
  }
  const joined = Buffer.from(names.length ? names.join('\\0') + '\\0' : '', 'latin1');
  const n = names.length;
  const ends = new Uint32Array(n);
  const out = new Float64Array(n * F);
  const fd = open(Buffer.concat([d, Buffer.of(0)]), p.dirFlags);
  const ascii = isAscii(joined);
  const base = d.length + 1;
  d.copy(path, 0);
  path[d.length] = 0x2f;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + names[i].length;
    ends[i] = end;
    const nameZ = joined.subarray(start, end + 1);
    if (fd < 0 || base + nameZ.length > 4096) out[i * F] = INLINE;
    else if (statOne(fd, ascii ? names[i] : nameZ, out, i * F)) {
      // The size of the xattr name list alone: 0 is "none", the common case.
      let size;
      if (at) size = ascii ? syscall(NR, 'int', fd, 'str', names[i], 'uint', p.nofollow, 'void *', null, 'size_t', 0)
        : syscall(NR, 'int', fd, 'void *', nameZ, 'uint', p.nofollow, 'void *', null, 'size_t', 0);
      else {
        nameZ.copy(path, base);
        size = llistxattr(path, null, 0);
      }
      if (Number(size) !== 0) out[i * F] = INLINE;
    }
    start = end + 1;
  }
  if (fd >= 0) close(fd);
  return { id, n, joined, ends, out };
}
function send(batch) {
  let len = 0, n = 0;
  for (const r of batch) { len += r.n ? r.joined.length : 0; n += r.n; }
  const joined = Buffer.allocUnsafeSlow(len);
  const out = new Float64Array(n * F);
  const ends = new Uint32Array(n);
  const dirs = [];
  let pos = 0, at = 0;
  for (const r of batch) {
    dirs.push({ id: r.id, n: r.n });
    if (!r.n) continue;
    for (let i = 0; i < r.n; i++) ends[at + i] = r.ends[i] + pos;
    pos += r.joined.copy(joined, pos);
    out.set(r.out, at * F);
    at += r.n;
  }
  parentPort.postMessage({ dirs, joined, ends, out }, [joined.buffer, ends.buffer, out.buffer]);
}
const queue = [];
let scheduled = false;
function run() {
  scheduled = false;
  let batch = [], n = 0;
  while (queue.length) {
    const r = listOne(queue.shift());
    batch.push(r);
    if ((n += r.n) >= ${BATCH}) { send(batch); batch = []; n = 0; }
  }
  if (batch.length) send(batch);
}
parentPort.on('message', (dirs) => {
  // null: stop once what was asked is answered (the port closes, the loop runs dry).
  if (dirs === null) { parentPort.close(); return; }
  queue.push(...dirs);
  if (!scheduled) { scheduled = true; setImmediate(run); }
});
`;
