// What a worker thread needs to call fstatat(2) and openat(2) itself through koffi (the walk's,
// the listing's and the hash pool's worker code): koffi's module path, the declarations, and
// where `struct stat` keeps the fields they read. Data only: the worker binds the calls, not this
// module (fsmeta/libc.ts binds its own). In shared/ because delta/'s hash worker uses it too.
import { createRequire } from 'node:module';

const AT_SYMLINK_NOFOLLOW = 0x100;
const O_CLOEXEC = 0o2000000;

/**
 * What a worker thread needs to call fstatat(2) itself (koffi loads there too, but not this
 * module, which is TypeScript): koffi's module path, the declarations, and where `struct stat`
 * keeps the fields a walk reads, as byte offsets. Only for the layouts known here (Linux on
 * x86-64 and arm64); null elsewhere, and the caller keeps to Node's lstat.
 */
export interface FstatatPlan {
  koffi: string;
  open: string;
  fstatat: string;
  /** fstatat taking the name as a JS string (ASCII names only: koffi passes its UTF-8). */
  fstatatText: string;
  close: string;
  /** openat(2) of a name (its bytes, NUL-ended) relative to a directory's fd, no mode. */
  openat: string;
  /** read(2) into a Buffer (koffi passes its memory: nothing copied in or out). */
  read: string;
  /** open(2) flags for a directory read by fd: O_RDONLY | O_DIRECTORY | O_CLOEXEC. */
  dirFlags: number;
  /**
   * openat(2) flags for a file read whole, as small-file.ts opens one: O_RDONLY | O_NOFOLLOW |
   * O_NONBLOCK | O_NOCTTY, and O_CLOEXEC.
   */
  fileFlags: number;
  /** AT_EMPTY_PATH: fstatat of the fd itself (an fstat). */
  emptyPath: number;
  nofollow: number;
  /** sizeof(struct stat). */
  size: number;
  /**
   * Byte offsets: dev, ino, rdev (u64); mode, uid, gid (u32); nlink (u64 where nlinkWide, else
   * u32); size (i64); mtime, ctime (i64 sec, then nsec).
   */
  at: {
    dev: number;
    ino: number;
    mode: number;
    size: number;
    mtime: number;
    ctime: number;
    nlink: number;
    uid: number;
    gid: number;
    rdev: number;
  };
  nlinkWide: boolean;
}

/** The plan for this platform, or null where the layout is not known here. */
export function fstatatPlan(platform = process.platform, arch = process.arch): FstatatPlan | null {
  if (platform !== 'linux' || (arch !== 'x64' && arch !== 'arm64')) return null;
  const x64 = arch === 'x64';
  return {
    koffi: createRequire(import.meta.url).resolve('koffi'),
    open: 'int open(const uint8_t *path, int flags)',
    fstatat: 'int fstatat(int dirfd, const uint8_t *name, _Out_ uint8_t *buf, int flags)',
    // The same call with an ASCII name given as a JS string (koffi passes its UTF-8, the same bytes).
    fstatatText: 'int fstatat(int dirfd, const char *name, _Out_ uint8_t *buf, int flags)',
    close: 'int close(int fd)',
    openat: 'int openat(int dirfd, const uint8_t *name, int flags)',
    read: 'intptr_t read(int fd, void *buf, size_t count)',
    // O_DIRECTORY and O_NOFOLLOW differ between the two (arm64's are 0o40000 and 0o100000, not
    // asm-generic's); O_CLOEXEC, O_NONBLOCK and O_NOCTTY do not.
    dirFlags: (x64 ? 0o200000 : 0o40000) | O_CLOEXEC,
    fileFlags: (x64 ? 0o400000 : 0o100000) | 0o4000 | 0o400 | O_CLOEXEC,
    emptyPath: 0x1000,
    nofollow: AT_SYMLINK_NOFOLLOW,
    size: x64 ? 144 : 128,
    // x86-64's own struct stat; arm64's is asm-generic's (nlink a u32 after mode).
    at: {
      dev: 0,
      ino: 8,
      mode: x64 ? 24 : 16,
      size: 48,
      mtime: 88,
      ctime: 104,
      nlink: x64 ? 16 : 20,
      uid: x64 ? 28 : 24,
      gid: x64 ? 32 : 28,
      rdev: x64 ? 40 : 32,
    },
    nlinkWide: x64,
  };
}

/**
 * Worker source text: `statStruct(plan)` gives the Buffer fstatat fills and its readers. The
 * struct's words are read through typed arrays (every offset is a multiple of 4; Buffer.alloc is
 * never pooled, so its own buffer starts at 0): on a little-endian machine, the values readUInt32LE
 * and readInt32LE give, without a call each. Each number is computed as Node computes its Stats'
 * (a u64 to the nearest double; sec * 1e3 + nsec / 1e6 for the ms), so a worker's numbers equal
 * an lstat's (stat-pool.test.ts).
 */
export const STAT_STRUCT_SOURCE = `
function statStruct(p) {
  const buf = Buffer.alloc(p.size);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const u = le ? new Uint32Array(buf.buffer, buf.byteOffset, p.size >> 2) : null;
  const s = le ? new Int32Array(buf.buffer, buf.byteOffset, p.size >> 2) : null;
  const u32 = u ? (k) => u[k >> 2] : (k) => buf.readUInt32LE(k);
  const i32 = s ? (k) => s[k >> 2] : (k) => buf.readInt32LE(k);
  const u64 = (k) => u32(k) + u32(k + 4) * 4294967296;
  const ms = (k) => (u32(k) + i32(k + 4) * 4294967296) * 1e3 + u32(k + 8) / 1e6;
  return { buf, u32, i32, u64, ms };
}
`;
