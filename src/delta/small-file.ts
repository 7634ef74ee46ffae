// Small files read whole with synchronous calls into one shared buffer. A checksum compare of a
// tree of small files (median 7 KiB) spent most of its time on thread-pool round trips (open,
// stat, read, close: each microseconds of work) and on garbage-collecting a buffer per file.
import { closeSync, constants as C, fstatSync, openSync, readSync } from 'node:fs';
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
  let fd: number;
  try {
    fd = openSync(fsPath(path), C.O_RDONLY);
  } catch (err) {
    throw asSmrError(err);
  }
  try {
    if (fstatSync(fd).size > SMALL_FILE_BYTES) return null;
    let n = 0;
    for (;;) {
      const r = readSync(fd, scratch, n, scratch.length - n, n);
      if (r === 0) return scratch.subarray(0, n);
      n += r;
      if (n === scratch.length) return null; // grew past the limit while read: the streaming path
    }
  } catch (err) {
    throw asSmrError(err);
  } finally {
    closeSync(fd);
  }
}
