// The Linux system calls Node's fs lacks (l*xattr with byte paths, utimensat with nanoseconds,
// mknod, lseek with SEEK_DATA/SEEK_HOLE, fallocate, posix_fadvise, syncfs), and the one socket
// call its net lacks (a datagram to a unix socket, for systemd's readiness), called through
// koffi. This is the only module that imports koffi (worker threads that walk or hash load it by
// the path shared/fstatat-plan.ts gives, to call relative to a directory's fd). Calls are
// synchronous: each takes about a microsecond, less than a thread-pool round trip, and errno is
// read on the same thread right after the call.
import { createRequire } from 'node:module';
import os from 'node:os';
import util from 'node:util';
import { SmrError } from '../shared/errors.js';
import { cString, displayPath, type FsPath } from './paths.js';

export type CFunc = (...args: unknown[]) => unknown;
interface Libc {
  lgetxattr: CFunc;
  llistxattr: CFunc;
  flistxattr: CFunc;
  lsetxattr: CFunc;
  lremovexattr: CFunc;
  utimensat: CFunc;
  futimens: CFunc;
  mknod: CFunc;
  lseek: CFunc;
  fallocate: CFunc;
  posix_fadvise: CFunc;
  socket: CFunc;
  sendto: CFunc;
  close: CFunc;
  openat: CFunc;
  syncfs: CFunc & { async: (...args: unknown[]) => void };
}

/** Largest xattr value and name list Linux allows (XATTR_SIZE_MAX, XATTR_LIST_MAX). */
export const XATTR_MAX = 65536;
const AT_FDCWD = -100;
const O_CLOEXEC = 0o2000000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const UTIME_OMIT = (1n << 30n) - 2n;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
/** lseek whence values for sparse files (Linux, since 3.1). */
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

let libc: Libc | undefined;
/** What this module uses of koffi (required at run time, so typed here). */
interface Koffi {
  load(path: null): { func(decl: string): unknown };
  errno(): number;
}
let koffiModule: Koffi | undefined;

/**
 * koffi, required on first use: most runs of a daemon (a no-change restart) make no call here, and
 * loading it was 0.01–0.03 s of CPU at every start. Every errno read follows a call, so it is loaded by then.
 */
function koffi(): Koffi {
  return (koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi);
}

// Bound on first use, so importing fsmeta on another platform fails only when a call is made.
function lib(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new SmrError(
      'io',
      `file attributes beyond Node's fs need Linux (this is ${process.platform})`,
    );
  }
  // The process image already links libc: no file name to guess (glibc or musl).
  const l = koffi().load(null);
  const f = (decl: string): CFunc => l.func(decl) as unknown as CFunc;
  libc = {
    lgetxattr: f(
      'intptr_t lgetxattr(const uint8_t *path, const uint8_t *name, _Out_ uint8_t *value, size_t size)',
    ),
    llistxattr: f('intptr_t llistxattr(const uint8_t *path, _Out_ uint8_t *list, size_t size)'),
    flistxattr: f('intptr_t flistxattr(int fd, uint8_t *list, size_t size)'),
    lsetxattr: f(
      'int lsetxattr(const uint8_t *path, const uint8_t *name, const uint8_t *value, size_t size, int flags)',
    ),
    lremovexattr: f('int lremovexattr(const uint8_t *path, const uint8_t *name)'),
    utimensat: f('int utimensat(int dirfd, const uint8_t *path, const uint8_t *times, int flags)'),
    futimens: f('int futimens(int fd, const uint8_t *times)'),
    mknod: f('int mknod(const uint8_t *path, uint32_t mode, uint64_t dev)'),
    lseek: f('int64_t lseek(int fd, int64_t offset, int whence)'),
    fallocate: f('int fallocate(int fd, int mode, int64_t offset, int64_t len)'),
    posix_fadvise: f('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)'),
    socket: f('int socket(int domain, int type, int protocol)'),
    sendto: f(
      'intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)',
    ),
    close: f('int close(int fd)'),
    openat: f('int openat(int dirfd, const char *path, int flags)'),
    syncfs: f('int syncfs(int fd)') as Libc['syncfs'],
  };
  return libc;
}

/** One more libc function by its C declaration (throws where it has no such symbol). */
export const libcFunc = (decl: string): CFunc => koffi().load(null).func(decl) as unknown as CFunc;

/** An error shaped like Node's own fs errors (code, errno, syscall, path), so callers treat both alike. */
export function errnoError(syscall: string, path?: FsPath): NodeJS.ErrnoException {
  const errno = koffi().errno();
  const code = util.getSystemErrorName(-errno);
  const where = path === undefined ? '' : ` '${displayPath(path)}'`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall}${where}`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = displayPath(path);
  return err;
}

function check(rc: unknown, syscall: string, path?: FsPath): number {
  const n = Number(rc);
  if (n === -1) throw errnoError(syscall, path);
  return n;
}

// koffi copies a buffer argument in and out whole (a 64 KiB one cost ~6 µs a call, a 1 KiB one
// ~1 µs), so values are read into a small scratch buffer first; a larger one is sized exactly.
const SCRATCH = 1024;
const scratch = Buffer.alloc(SCRATCH);

// Calls a "fill this buffer, return the length" function; ERANGE means the value outgrew the
// buffer (or grew between the size query and the read), so ask its size and try again.
function readSized(
  call: (buf: Buffer | null, size: number) => unknown,
  syscall: string,
  p: FsPath,
): Buffer {
  const first = Number(call(scratch, SCRATCH));
  if (first !== -1) return Buffer.from(scratch.subarray(0, first));
  while (koffi().errno() === os.constants.errno.ERANGE) {
    const size = check(call(null, 0), syscall, p);
    const buf = Buffer.alloc(Math.min(size, XATTR_MAX));
    const n = Number(call(buf, buf.length));
    if (n !== -1) return buf.subarray(0, n);
  }
  throw errnoError(syscall, p);
}

/** The raw NUL-separated xattr name list of the entry itself (never a symlink's target). */
export function llistxattr(p: FsPath): Buffer {
  const path = cString(p);
  return readSized((buf, size) => lib().llistxattr(path, buf, size), 'llistxattr', p);
}

/** One xattr value of the entry itself; throws ENODATA when it has no such name. */
export function lgetxattr(p: FsPath, name: Buffer): Buffer {
  const [path, cname] = [cString(p), cString(name)];
  return readSized((buf, size) => lib().lgetxattr(path, cname, buf, size), 'lgetxattr', p);
}

/** Sets one xattr on the entry itself. */
export function lsetxattr(p: FsPath, name: Buffer, value: Buffer): void {
  check(lib().lsetxattr(cString(p), cString(name), value, value.length, 0), 'lsetxattr', p);
}

/** Removes one xattr from the entry itself; throws ENODATA when it has no such name. */
export function lremovexattr(p: FsPath, name: Buffer): void {
  check(lib().lremovexattr(cString(p), cString(name)), 'lremovexattr', p);
}

/** Sets the mtime to the nanosecond, leaving atime alone; never follows a symlink. */
export function lutimensMtime(p: FsPath, mtimeNs: bigint): void {
  const times = mtimeTimes(mtimeNs);
  check(lib().utimensat(AT_FDCWD, cString(p), times, AT_SYMLINK_NOFOLLOW), 'utimensat', p);
}

/**
 * lutimensMtime on an open descriptor (a new file's temp file before its rename): no path walk,
 * and the file set is the one written, whatever its name meets meanwhile.
 */
export function futimensMtime(fd: number, mtimeNs: bigint): void {
  check(lib().futimens(fd, mtimeTimes(mtimeNs)), 'futimens');
}

/** The timespecs futimensMtimeText fills (the call is synchronous: reused, never shared). */
let textTimes: Buffer | undefined;

/**
 * futimensMtime for an mtime as the wire gives it (ns in decimal digits), without a BigInt or a
 * Buffer per call: a target sets one per file it writes (the BigInt way was 4% of its mirror).
 */
export function futimensMtimeText(fd: number, ns: string): void {
  // Not negative (the wire's 22 digits at most): both halves are exact doubles. Else the BigInt way.
  if (ns.charCodeAt(0) === 45 || ns.length > 22 || os.endianness() !== 'LE')
    return futimensMtime(fd, BigInt(ns));
  const cut = ns.length - 9;
  const sec = cut > 0 ? Number(ns.slice(0, cut)) : 0;
  const times = (textTimes ??= mtimeTimes(0n)); // atime: UTIME_OMIT, written once
  times.writeUInt32LE(sec % 0x1_0000_0000, 16);
  times.writeUInt32LE(Math.floor(sec / 0x1_0000_0000), 20);
  times.writeUInt32LE(Number(cut > 0 ? ns.slice(cut) : ns), 24);
  check(lib().futimens(fd, times), 'futimens');
}

// The two timespecs of utimensat/futimens: atime left alone (UTIME_OMIT), mtime set.
function mtimeTimes(mtimeNs: bigint): Buffer {
  const sec = floorDiv(mtimeNs, 1_000_000_000n);
  const times = Buffer.alloc(32);
  const le = os.endianness() === 'LE';
  const put = (v: bigint, at: number): number =>
    le ? times.writeBigInt64LE(v, at) : times.writeBigInt64BE(v, at);
  put(0n, 0);
  put(UTIME_OMIT, 8);
  put(sec, 16);
  put(mtimeNs - sec * 1_000_000_000n, 24);
  return times;
}

/**
 * Bytes of the xattr name list of an open file (0: it has none), without reading the list: the
 * size query of flistxattr. Throws like Node's fs (ENOTSUP where the file system has no xattrs).
 */
export function flistxattrSize(fd: number): number {
  return check(lib().flistxattr(fd, null, 0), 'flistxattr');
}

/**
 * openat(2) of `name` (one component, no escaped bytes) in the directory open as `dirfd`, close-on-
 * exec like every descriptor Node opens: no walk of the whole path per file.
 */
export function openAt(dirfd: number, name: string, flags: number): number {
  return check(lib().openat(dirfd, name, flags | O_CLOEXEC), 'openat', name);
}

/** mknod(2): `mode` includes the file type bits (S_IFIFO, S_IFCHR, ...). */
export function mknod(p: FsPath, mode: number, rdev: bigint): void {
  check(lib().mknod(cString(p), mode, rdev), 'mknod', p);
}

/** lseek(2) with any whence; returns -1 instead of throwing for ENXIO (no data/hole past offset). */
export function lseek(fd: number, offset: number, whence: number): number {
  const n = Number(lib().lseek(fd, offset, whence));
  if (n === -1 && koffi().errno() === os.constants.errno.ENXIO) return -1;
  return check(n, 'lseek');
}

/** Deallocates a byte range inside a file, keeping its size (FALLOC_FL_PUNCH_HOLE). */
export function punchHole(fd: number, offset: number, length: number): void {
  check(
    lib().fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length),
    'fallocate',
  );
}

const POSIX_FADV_WILLNEED = 3;

/**
 * Asks the kernel to start reading a file's first `len` bytes into the page cache now, without
 * waiting for them (posix_fadvise WILLNEED): a later read finds them there. Only a hint: false
 * when it was refused (the return is the error number, errno is not set).
 */
export function willNeed(fd: number, len: number): boolean {
  return Number(lib().posix_fadvise(fd, 0, len, POSIX_FADV_WILLNEED)) === 0;
}

/** syncfs(2) of the open `fd`'s file system on a pool thread (it waits for the disk); done(ok). */
export function syncfsAsync(fd: number, done: (ok: boolean) => void): void {
  lib().syncfs.async(fd, (err: unknown, rc: unknown) => done(!err && Number(rc) === 0));
}

const AF_UNIX = 1;
const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/**
 * Sends one datagram to a unix socket: `addr` is a path, or starts with `@` for the abstract
 * namespace (systemd's NOTIFY_SOCKET convention).
 */
export function unixDatagram(addr: string, msg: Buffer): void {
  const name = Buffer.from(addr, 'utf8');
  if (name.length === 0 || name.length >= SUN_PATH_MAX)
    throw new SmrError('usage', `not a unix socket address: "${addr}"`);
  if (name[0] === 0x40) name[0] = 0; // @name: abstract, no trailing NUL counted
  const sa = Buffer.alloc(2 + SUN_PATH_MAX);
  if (os.endianness() === 'LE') sa.writeUInt16LE(AF_UNIX, 0);
  else sa.writeUInt16BE(AF_UNIX, 0);
  name.copy(sa, 2);
  const len = 2 + name.length + (name[0] === 0 ? 0 : 1);
  const fd = check(lib().socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0), 'socket');
  try {
    check(lib().sendto(fd, msg, msg.length, MSG_NOSIGNAL, sa, len), 'sendto');
  } finally {
    lib().close(fd);
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}
