// Reading a batch's small files (issue 13). Each file is read whole with synchronous calls, which
// take microseconds against the page cache; but a full mirror mostly reads files that are not in
// it, and then each read waited for the disk on the main thread, one file at a time (a cold
// read of a few KiB took 150-400 µs here, 12 µs warm: it was half of the source's wall time).
// So the files a little ahead of the one read are opened and their reads started in the kernel
// (posix_fadvise WILLNEED): the disk gets many requests at once and a read usually finds its data.
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  constants as C,
  type BigIntStats,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { fsPath, hasXattrsFd, msOfNs, willNeed } from '../fsmeta/index.js';
import type { ReadAttrs } from './entry-attrs.js';

/** Files opened ahead of the one read: enough requests in flight to keep a disk busy, few fds. */
export const READ_AHEAD = 64;

/** What readInto() of one file found: its length, what its fstat said, its attributes. */
export interface Read {
  len: number;
  /** The fstat's identity, size and mtime, as the scan's Stats gives them. */
  after: Pick<Stats, 'ino' | 'size' | 'mtimeMs'>;
  attrs: ReadAttrs | null;
}

/** The attributes of the file read, from its fstat (`named`: whether it has xattr names). */
export type AttrsOf = (st: BigIntStats, at: number, named: () => boolean) => ReadAttrs | null;

/** One file a batch may read: its absolute path and size as scanned (null: it is not read). */
export type Wanted = (i: number) => { abs: string; size: number } | null;

/**
 * The descriptors of a run of files opened ahead of their reads. A file is opened when the one
 * READ_AHEAD before it is taken: opening it then instead of at its read changes nothing the
 * read sees (a change after the open is seen by the read and its fstat, or by the watch, as a
 * change just after a read always was).
 */
export class ReadAhead {
  /** Descriptor per item index (-1: its open failed); an index never taken is closed in passing. */
  private readonly fds = new Map<number, number>();
  private next = 0;

  constructor(
    private readonly count: number,
    private readonly wanted: Wanted,
    private readonly ahead = READ_AHEAD,
  ) {}

  /** Item `i`'s descriptor, now the caller's to close; null when it could not be opened. */
  take(i: number): number | null {
    // Opened in index order, so the ones passed over come first.
    for (const [j, fd] of this.fds) {
      if (j >= i) break;
      this.drop(j, fd);
    }
    this.next = Math.max(this.next, i);
    while (this.next < this.count && this.next <= i + this.ahead) this.open(this.next++);
    const fd = this.fds.get(i);
    this.fds.delete(i);
    return fd === undefined || fd < 0 ? null : fd;
  }

  /** Closes what was opened and not taken (the batch ended, or failed). */
  close(): void {
    for (const [j, fd] of this.fds) this.drop(j, fd);
  }

  private open(i: number): void {
    const w = this.wanted(i);
    if (!w) return;
    try {
      const fd = openSync(fsPath(w.abs), C.O_RDONLY | C.O_NOFOLLOW);
      this.fds.set(i, fd);
      // One byte more than the scanned size, as the read asks (a file that grew is seen).
      if (w.size > 0) willNeed(fd, w.size + 1);
    } catch {
      this.fds.set(i, -1); // gone, replaced, unreadable: the read fails, the ordinary path looks
    }
  }

  private drop(i: number, fd: number): void {
    this.fds.delete(i);
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Reads a small file whole from `fd` (which it closes) into `buf` at `at`, and its attributes
 * from the same descriptor: null when it could not be opened (`fd` null), is not a plain file
 * any more, is unreadable, or is longer than `size` (it grew: the ordinary path reads it in parts).
 */
export function readInto(
  fd: number | null,
  buf: Buffer,
  at: number,
  size: number,
  attrs: AttrsOf,
): Read | null {
  if (fd === null) return null;
  try {
    const len = readSync(fd, buf, at, size + 1, 0);
    const readAt = Date.now();
    const st = fstatSync(fd, { bigint: true });
    if (len > size || !st.isFile()) return null;
    const after = { ino: Number(st.ino), size: Number(st.size), mtimeMs: msOfNs(st.mtimeNs) };
    return { len, after, attrs: attrs(st, readAt, () => hasXattrsFd(fd)) };
  } catch {
    return null; // a directory now (EISDIR), or a read error: the ordinary path says why
  } finally {
    closeSync(fd);
  }
}
