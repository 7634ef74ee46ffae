// Reading a batch's small files (issue 13). Each file is read whole with synchronous calls, which
// take microseconds against the page cache; but a full mirror mostly reads files that are not in
// it, and then each read waited for the disk on the main thread, one file at a time (a cold
// read of a few KiB took 150-400 µs here, 12 µs warm: it was half of the source's wall time).
// So the files a little ahead of the one read are opened and their reads started in the kernel
// (posix_fadvise WILLNEED): the disk gets many requests at once and a read usually finds its data.
// The advice is given only while reads are seen to wait for the disk (CacheGuess).
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  constants as C,
  type BigIntStats,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { fsPath, hasXattrsFd, msOfNs, openAt, willNeed } from '../fsmeta/index.js';
import type { ReadAttrs } from './entry-attrs.js';

/** Files opened ahead of the one read: enough requests in flight to keep a disk busy, few fds. */
export const READ_AHEAD = 64;
/**
 * A read of a small file not read ahead that took longer than this (ms) waited for the disk: one
 * from the page cache takes a few µs, a disk's 50 µs and more (150-400 µs here). A read slowed
 * by something else only makes the kernel read ahead for a while, as it always did.
 */
export const COLD_READ_MS = 0.04;
/** While reads wait for the disk, one file in this many is opened without advice (a probe). */
const PROBE_EVERY = 32;
/** Probes in a row that found their data cached before reads go without advice. */
const WARM_PROBES = 2;
/** Slow reads in a row before the advice is given again (one may just have lost the CPU). */
const COLD_READS = 2;

/**
 * Whether the files read lately found their data in the page cache. Each read-ahead advice is a
 * system call of its own (posix_fadvise: 4% of the source's CPU in a full mirror of a cached
 * tree), useful only for files that are not cached: while reads without it are fast, none is
 * given; two slow ones in a row turn it on again for the files opened ahead and after, until
 * probes (files left without it) find their data cached again. Kept for the process: a source's
 * batches read one tree.
 */
export class CacheGuess {
  /** Whether files are read ahead (posix_fadvise WILLNEED) when opened. */
  cold = true;
  private opened = 0;
  private fast = 0;
  private slow = 0;

  /** Whether a file opened now gets read-ahead advice (false: it is a read timed as a probe). */
  advise(): boolean {
    return this.cold && ++this.opened % PROBE_EVERY !== 0;
  }

  /** A file opened without advice was read in `ms`; true when reads just turned cold. */
  read(ms: number): boolean {
    if (ms > COLD_READ_MS) {
      this.fast = 0;
      if (this.cold || ++this.slow < COLD_READS) return false;
      this.cold = true;
      return true;
    }
    this.slow = 0;
    if (this.cold && ++this.fast >= WARM_PROBES) this.cold = false;
    return false;
  }
}

/** The guess of the source's batches. */
const SHARED_GUESS = new CacheGuess();

/** What readInto() of one file found: its length, what its fstat said, its attributes. */
export interface Read {
  len: number;
  /** The fstat's identity, size and mtime, as the scan's Stats gives them. */
  after: Pick<Stats, 'ino' | 'size' | 'mtimeMs'>;
  attrs: ReadAttrs | null;
  /** How long the read of the data took (ms: ReadAhead.readTook). */
  took: number;
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
  /** Sizes of the files opened without read-ahead advice (probes, or all while warm). */
  private readonly unadvised = new Map<number, number>();
  private next = 0;
  /** The directory files were last opened in, open itself (-1: it could not be). */
  private dir: { path: string; fd: number } | null = null;

  constructor(
    private readonly count: number,
    private readonly wanted: Wanted,
    private readonly ahead = READ_AHEAD,
    private readonly guess = SHARED_GUESS,
    private readonly advise: (fd: number, len: number) => unknown = willNeed,
  ) {}

  /**
   * Item `i` was read in `ms` (readInto's `took`): a file opened without advice tells whether
   * reads find their data cached; when they just stopped, the files opened ahead get it now.
   */
  readTook(i: number, ms: number): void {
    if (!this.unadvised.has(i)) return;
    this.unadvised.delete(i);
    if (!this.guess.read(ms)) return;
    for (const [j, size] of this.unadvised) {
      const fd = this.fds.get(j);
      if (fd !== undefined && fd >= 0) this.advise(fd, size + 1);
    }
    this.unadvised.clear();
  }

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
    if (this.dir && this.dir.fd >= 0) closeSync(this.dir.fd);
    this.dir = null;
  }

  /**
   * Opens a file relative to its directory, kept open while its files come (a batch's files come
   * a directory at a time): the kernel's walk of the whole path per file was a third of each
   * open. A name with escaped bytes, or a directory that would not open, goes by its path.
   */
  private openFile(abs: string): number {
    const cut = abs.lastIndexOf('/');
    const [dir, name] = [abs.slice(0, cut), abs.slice(cut + 1)];
    if (this.dir?.path !== dir) {
      if (this.dir && this.dir.fd >= 0) closeSync(this.dir.fd);
      this.dir = { path: dir, fd: -1 };
      try {
        this.dir.fd = openSync(fsPath(dir), C.O_RDONLY | C.O_DIRECTORY);
      } catch {
        // (gone or unreadable: each file's own open says why)
      }
    }
    const flags = C.O_RDONLY | C.O_NOFOLLOW;
    if (cut <= 0 || this.dir.fd < 0 || typeof fsPath(name) !== 'string')
      return openSync(fsPath(abs), flags);
    return openAt(this.dir.fd, name, flags);
  }

  private open(i: number): void {
    const w = this.wanted(i);
    if (!w) return;
    try {
      const fd = this.openFile(w.abs);
      this.fds.set(i, fd);
      // One byte more than the scanned size, as the read asks (a file that grew is seen).
      if (w.size === 0) return;
      if (this.guess.advise()) this.advise(fd, w.size + 1);
      else this.unadvised.set(i, w.size);
    } catch {
      this.fds.set(i, -1); // gone, replaced, unreadable: the read fails, the ordinary path looks
    }
  }

  private drop(i: number, fd: number): void {
    this.fds.delete(i);
    this.unadvised.delete(i);
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
    const start = performance.now();
    const len = readSync(fd, buf, at, size + 1, 0);
    const took = performance.now() - start;
    const readAt = Date.now();
    const st = fstatSync(fd, { bigint: true });
    if (len > size || !st.isFile()) return null;
    const after = { ino: Number(st.ino), size: Number(st.size), mtimeMs: msOfNs(st.mtimeNs) };
    return { len, after, attrs: attrs(st, readAt, () => hasXattrsFd(fd)), took };
  } catch {
    return null; // a directory now (EISDIR), or a read error: the ordinary path says why
  } finally {
    closeSync(fd);
  }
}
