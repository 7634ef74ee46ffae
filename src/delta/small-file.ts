// Small files read whole with synchronous calls into one shared buffer. A checksum compare of a
// tree of small files (median 7 KiB) spent most of its time on thread-pool round trips (open,
// stat, read, close: each microseconds of work) and on garbage-collecting a buffer per file.
import { closeSync, constants as C, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { asSmrError } from '../shared/errors.js';
import { fsPath } from '../shared/name-bytes.js';

/** Files up to this size are read whole, synchronously. */
export const SMALL_FILE_BYTES = 256 * 1024;

// One more byte than the limit, so a file that grew past it shows in the same read.
const scratch = Buffer.allocUnsafeSlow(SMALL_FILE_BYTES + 1);

/**
 * The whole content of `path` when it is at most SMALL_FILE_BYTES, else null. The result is a
 * view of a shared buffer, valid only until the next call: use it before any await.
 */
export function readSmallSync(path: string): Buffer | null {
  const r = readSmall(path, C.O_RDONLY, false);
  return r === 'large' ? null : (r as Buffer);
}

/**
 * readSmallSync of a regular file only: 'not-file' when `path` is a symlink (not followed), a
 * directory, a fifo (opened without waiting for a writer), a socket or a device (never read), or
 * is gone. One open and fstat, where an lstat before readSmallSync cost a sixth system call per
 * file.
 */
export function readSmallFileSync(path: string): Buffer | 'large' | 'not-file' {
  return readSmall(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY, true);
}

/**
 * A small regular file's whole content and its stat taken on the open file after the read, for a
 * caller that expects `size` bytes (a scan's stat): open (not following a symlink), read, fstat,
 * close. Where readSmallSync then an lstat made five system calls per file (the checksum mirror
 * proving an equal file unchanged since hashed), this makes four, none of them a path walk but
 * the open. The stat describes the content read (its size is the bytes read); comparing it with
 * the expected stat is the caller's. Null whenever that is not at hand (the caller takes the
 * general path): not a regular file, `size` or the file over SMALL_FILE_BYTES, a size after the
 * read other than the bytes read, or any error. The content is a view of the shared buffer: use
 * it before any await.
 */
export function readSmallStat(path: string, size: number): { buf: Buffer; st: Stats } | null {
  if (size > SMALL_FILE_BYTES) return null;
  let fd: number;
  try {
    fd = openSync(fsPath(path), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    // Reading stops at the expected size; the fstat below tells whether that was the end.
    const n = readUpTo(fd, size);
    if (n === null) return null;
    // After the read: a file that grew, shrank or was written while read shows it here.
    const st = fstatSync(fd);
    return st.isFile() && st.size === n ? { buf: scratch.subarray(0, n), st } : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function readSmall(path: string, flags: number, fileOnly: boolean): Buffer | 'large' | 'not-file' {
  let fd: number;
  try {
    fd = openSync(fsPath(path), flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: a symlink under O_NOFOLLOW; ENXIO: a socket, or a fifo with no writer; ENOENT and
    // ENOTDIR: gone, or a parent is no longer a directory.
    if (fileOnly && ['ELOOP', 'ENXIO', 'ENOENT', 'ENOTDIR'].includes(code ?? '')) return 'not-file';
    throw asSmrError(err);
  }
  try {
    const st = fstatSync(fd);
    if (fileOnly && !st.isFile()) return 'not-file';
    if (st.size > SMALL_FILE_BYTES) return 'large';
    const n = readUpTo(fd, st.size);
    return n === null ? 'large' : scratch.subarray(0, n); // null: grew past the limit while read
  } catch (err) {
    throw asSmrError(err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads `fd` into the shared buffer until `size` bytes or the end; the bytes read, or null when
 * the file holds more than SMALL_FILE_BYTES. A read short of what was asked ends at the end of
 * the file; once it reaches `size` (the file's stat), that is the end (a regular file reads short
 * nowhere else), so no second read to see 0 bytes: it was a fifth of the system calls per small
 * file. A size of 0 proves nothing (pseudo-files say 0 and have content): read on until a read
 * gives 0.
 */
function readUpTo(fd: number, size: number): number | null {
  let n = 0;
  for (;;) {
    const r = readSync(fd, scratch, n, scratch.length - n, n);
    n += r;
    if (n === scratch.length) return null;
    if (r === 0 || (size > 0 && n >= size)) return n;
  }
}
