// A scratch index for an index unit test: opened before each test, closed and removed after it
// (the set-up several index test files wrote out alike); and a file's entry with defaults.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { PathIndex, type IndexEntry } from '../../src/index/index.js';

/** The index of the current test, its file, and a reopen (close, then open the same file). */
export interface ScratchIndex {
  readonly index: PathIndex;
  readonly file: string;
  reopen(): void;
}

/** Registers the set-up and clean-up; the index is fresh in each test, named after `prefix`. */
export function scratchIndex(prefix: string): ScratchIndex {
  let dir = '';
  let index: PathIndex | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    index = PathIndex.open(path.join(dir, 'index.db'));
  });
  afterEach(() => {
    index?.close();
    index = null;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get index(): PathIndex {
      if (!index) throw new Error('scratchIndex: no test is running');
      return index;
    },
    get file(): string {
      return path.join(dir, 'index.db');
    },
    reopen(): void {
      index?.close();
      index = PathIndex.open(path.join(dir, 'index.db'));
    },
  };
}

/** A file's entry: size 10, an mtime no double holds exactly, uid/gid 1000, seq 1; `over` wins. */
export function indexEntry(over: Partial<IndexEntry> = {}): IndexEntry {
  return {
    type: 'file',
    size: 10,
    mtimeNs: 1_700_000_000_123_456_789n,
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    dev: 2049n,
    ino: 1n,
    rdev: 0n,
    link: null,
    sha256: null,
    attrDigest: null,
    seq: 1,
    ctimeNs: 0n,
    ...over,
  };
}
