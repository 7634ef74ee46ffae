// How the hash pool's worker opens, stats, reads and closes a file, as source text for
// hash-worker.ts. A no-change checksum mirror of 1M small files spent ~26 us per file on each
// side's hash worker in open/fstat/read/close by absolute path through Node's fs (a path walk
// from the root per file, a Stats built per fstat): about half of those threads' time. With a
// plan (shared/fstatat-plan.ts), each file is opened by openat(2) relative to its directory's fd,
// opened once for the run of paths in that directory (a batch comes in scan order), and fstat and
// read are plain calls through koffi: ~12 us per file measured here.
//
// Exactness: the same flags (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY), the same errno names, and each
// stat number computed as Node computes its Stats' (statStruct), so a result means what the fs
// path's would. A directory kept open while its names are read was the one at that path when the
// first of them was opened: as if the batch had opened them all at that moment. Where the plan
// cannot serve (no plan, koffi fails to load, a path of PATH_MAX bytes or more, a directory that
// does not open), the file is opened by its path through fs, as before.
import { STAT_STRUCT_SOURCE } from '../shared/fstatat-plan.js';

/**
 * Defines, for the worker code after it: `openFile(paths, start, end)`: the fd of the path at
 * paths[start, end) (a NUL at end), or the error's code; `fstatFile(fd, st)`: fills `st`
 * (Float64Array: dev, ino, mode, nlink, uid, gid, rdev, size, mtimeMs, ctimeMs), throws on an
 * error; `readFile(fd, buf, off, len)`: bytes read, throws on an error; `closeFile(fd)`;
 * `endBatch()`: closes the directory kept open. Needs `fs` and `workerData` in scope.
 */
export const FILE_IO_SOURCE = `${STAT_STRUCT_SOURCE}
const NODE_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
let io = null;
try { io = workerData.plan ? fileIo(workerData.plan) : null; } catch { io = null; }
function fileIo(p) {
  const koffi = require(p.koffi);
  const { getSystemErrorName } = require('node:util');
  const l = koffi.load(null);
  const open = l.func(p.open), openat = l.func(p.openat), read = l.func(p.read);
  const close = l.func(p.close), fstatat = l.func(p.fstatatText);
  const { buf, u32, u64, ms } = statStruct(p);
  const o = p.at;
  const NUL = Buffer.of(0);
  let dir = null, dirFd = -1;
  const code = () => getSystemErrorName(-koffi.errno());
  const end = () => { if (dirFd >= 0) close(dirFd); dir = null; dirFd = -1; };
  return {
    end,
    // null: open it by path.
    open(paths, start, stop) {
      const slash = paths.lastIndexOf(0x2f, stop - 1);
      if (slash <= start || stop - start >= 4096) return null;
      const d = paths.subarray(start, slash);
      if (dir === null || !d.equals(dir)) {
        end();
        const fd = open(Buffer.concat([d, NUL]), p.dirFlags);
        if (fd < 0) return null; // the path's own open says why
        dir = Buffer.from(d);
        dirFd = fd;
      }
      const fd = openat(dirFd, paths.subarray(slash + 1, stop + 1), p.fileFlags);
      return fd >= 0 ? fd : code();
    },
    fstat(fd, st) {
      if (fstatat(fd, '', buf, p.emptyPath) !== 0) throw new Error(code());
      st[0] = u64(o.dev); st[1] = u64(o.ino); st[2] = u32(o.mode);
      st[3] = p.nlinkWide ? u64(o.nlink) : u32(o.nlink); st[4] = u32(o.uid); st[5] = u32(o.gid);
      st[6] = u64(o.rdev); st[7] = u64(o.size); st[8] = ms(o.mtime); st[9] = ms(o.ctime);
    },
    read(fd, b, off, len) {
      const n = Number(read(fd, b.subarray(off, off + len), len));
      if (n < 0) throw new Error(code());
      return n;
    },
    close(fd) { close(fd); },
  };
}
function openFile(paths, start, end) {
  const fd = io ? io.open(paths, start, end) : null;
  if (fd !== null) return fd;
  try { return fs.openSync(paths.subarray(start, end), NODE_FLAGS); } catch (err) { return (err && err.code) || 'error'; }
}
function fstatFile(fd, st) {
  if (io) return io.fstat(fd, st);
  const s = fs.fstatSync(fd);
  st[0] = s.dev; st[1] = s.ino; st[2] = s.mode; st[3] = s.nlink; st[4] = s.uid; st[5] = s.gid;
  st[6] = s.rdev; st[7] = s.size; st[8] = s.mtimeMs; st[9] = s.ctimeMs;
}
function readFile(fd, b, off, len) {
  return io ? io.read(fd, b, off, len) : fs.readSync(fd, b, off, len, null);
}
function closeFile(fd) {
  if (io) io.close(fd); else fs.closeSync(fd);
}
function endBatch() {
  if (io) io.end();
}
`;
