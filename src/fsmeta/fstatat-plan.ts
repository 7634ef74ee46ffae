// What a worker thread needs to call fstatat(2) itself through koffi (source/stat-pool.ts's
// worker code): koffi's module path, the declarations, and where `struct stat` keeps the fields
// a walk reads. Data only: the worker binds the calls, not this module (libc.ts binds its own).
import { createRequire } from 'node:module';

const AT_SYMLINK_NOFOLLOW = 0x100;

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
  /** open(2) flags for a directory read by fd: O_RDONLY | O_DIRECTORY | O_CLOEXEC. */
  dirFlags: number;
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
    // O_DIRECTORY differs between the two (asm-generic's 0o40000 on arm64); O_CLOEXEC does not.
    dirFlags: (x64 ? 0o200000 : 0o40000) | 0o2000000,
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
