// Sparse files: finding the data and the holes of a source file, and writing a copy that keeps
// its holes (rsync -S), so a 1 GiB file with a few data blocks does not arrive fully allocated.
import type { FileHandle } from 'node:fs/promises';
import { isAllZero, SPARSE_BLOCK, zeroRuns } from '../shared/zeros.js';
import { lseek, punchHole, SEEK_DATA, SEEK_HOLE } from './libc.js';

export { isAllZero, SPARSE_BLOCK };

/** A run of a file: data to read and send, or a hole that reads as zeros and costs no disk. */
export interface Extent {
  offset: number;
  length: number;
  hole: boolean;
}

/**
 * The file's extents in order, from SEEK_DATA/SEEK_HOLE. A filesystem without hole support
 * reports one data extent (Linux's generic lseek), and the writer then finds zero blocks itself.
 * Lazy, so a file with a million extents does not become a million-entry array. The file may
 * change while this runs: the extents describe the moment each lseek ran, like a read does.
 */
export function* extents(fd: number, size: number): Generator<Extent> {
  let at = 0;
  while (at < size) {
    let data = lseek(fd, at, SEEK_DATA);
    if (data === -1 || data > size) data = size;
    if (data > at) yield { offset: at, length: data - at, hole: true };
    if (data >= size) return;
    let hole = lseek(fd, data, SEEK_HOLE);
    if (hole === -1 || hole > size) hole = size;
    yield { offset: data, length: hole - data, hole: false };
    at = hole;
  }
}

/**
 * Writes data leaving holes: all-zero blocks are skipped (or, with `inPlace`, punched, since an
 * existing file may hold old data there), and finish() sets the size with ftruncate so a trailing
 * hole is kept. Without `inPlace` the file must be new or empty.
 */
export class SparseWriter {
  private readonly fh: FileHandle;
  private readonly inPlace: boolean;

  constructor(fh: FileHandle, opts: { inPlace?: boolean } = {}) {
    this.fh = fh;
    this.inPlace = opts.inPlace === true;
  }

  /** Writes buf at position, skipping (or punching) every aligned all-zero block in it. */
  async write(buf: Buffer, position: number): Promise<void> {
    await zeroRuns(buf, position, (part, at, zero) => this.flush(part, at, zero));
  }

  /** Sets the final size (keeping a trailing hole); call once every write is done. */
  async finish(size: number): Promise<void> {
    await this.fh.truncate(size);
  }

  private async flush(part: Uint8Array, position: number, zero: boolean): Promise<void> {
    if (zero && !this.inPlace) return;
    if (zero && tryPunch(this.fh.fd, position, part.length)) return;
    for (let done = 0; done < part.length;) {
      const { bytesWritten } = await this.fh.write(part, done, part.length - done, position + done);
      done += bytesWritten;
    }
  }
}

// A filesystem that cannot punch holes gets the zeros written instead: correct, just not sparse.
function tryPunch(fd: number, offset: number, length: number): boolean {
  try {
    punchHole(fd, offset, length);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EOPNOTSUPP' || code === 'ENOTSUP') return false;
    throw err;
  }
}
