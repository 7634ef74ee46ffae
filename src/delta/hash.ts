// Hash primitives: xxh64 for blocks (fast, ~5 GB/s in wasm) and sha256 for whole files (the proof
// that a rebuilt file equals its source).
import { createHash, hash as oneShotHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import xxhashWasm from 'xxhash-wasm';
import { SmrError } from '../shared/errors.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { IO_BUFFER_BYTES } from './limits.js';
import { openRead, ReadAhead } from './reader.js';
import { readSmallFileSync, readSmallSync } from './small-file.js';

type XXHash = Awaited<ReturnType<typeof xxhashWasm>>;

let api: XXHash | undefined;
let loading: Promise<void> | undefined;

/** Loads the xxhash wasm module once; every async entry point of the delta engine awaits it. */
export function initHash(): Promise<void> {
  loading ??= xxhashWasm().then((x) => {
    api = x;
  });
  return loading;
}

/** Where xxhash-wasm's CommonJS build is, for a worker thread to load (hash-worker.ts). */
export function xxhashModule(): string {
  return createRequire(import.meta.url).resolve('xxhash-wasm');
}

/** xxh64 of a block; synchronous so hot loops need no await (initHash() must have resolved). */
export function blockHash(buf: Uint8Array): bigint {
  if (!api) throw new SmrError('internal', 'blockHash used before initHash() resolved');
  return api.h64Raw(buf);
}

/** Appends the hashes of `buf`'s first `len` bytes, block by block (the last may be short). */
export function pushBlockHashes(buf: Uint8Array, len: number, blockSize: number, out: bigint[]) {
  for (let o = 0; o < len; o += blockSize)
    out.push(blockHash(buf.subarray(o, Math.min(len, o + blockSize))));
}

/** Hex sha256 of bytes in memory, in one call (no Hash object per small file). */
export function sha256Hex(buf: Uint8Array): string {
  return oneShotHash('sha256', buf, 'hex');
}

/** Incremental sha256 with a hex digest, for hashing data while it streams past. */
export class FileHasher {
  private readonly hash: Hash = createHash('sha256');
  /** Feeds the next bytes of the file, in order. */
  update(buf: Uint8Array): this {
    this.hash.update(buf);
    return this;
  }
  /** Hex digest; the hasher cannot be used afterwards. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * xxh64 per fixed-size block of a stream fed in order, whatever the sizes of the buffers fed (a
 * block may straddle two of them). Lets a pass that reads a file for another reason (the delta's
 * chunking) also yield the block hashes capture keeps as the basis of later changes.
 */
export class StreamBlockHasher {
  private readonly carry: Buffer;
  private carryLen = 0;
  private readonly out: bigint[] = [];
  /** Bytes fed so far. */
  size = 0;

  constructor(readonly blockSize: number) {
    this.carry = Buffer.allocUnsafe(blockSize);
  }

  update(buf: Uint8Array): this {
    this.size += buf.length;
    let off = 0;
    if (this.carryLen > 0) {
      off = Math.min(this.blockSize - this.carryLen, buf.length);
      this.carry.set(buf.subarray(0, off), this.carryLen);
      this.carryLen += off;
      if (this.carryLen < this.blockSize) return this;
      this.out.push(blockHash(this.carry));
      this.carryLen = 0;
    }
    for (; off + this.blockSize <= buf.length; off += this.blockSize)
      this.out.push(blockHash(buf.subarray(off, off + this.blockSize)));
    if (off < buf.length) {
      this.carry.set(buf.subarray(off), 0);
      this.carryLen = buf.length - off;
    }
    return this;
  }

  /** The hashes (the last block may be short); the hasher cannot be used afterwards. */
  finish(): BigUint64Array {
    if (this.carryLen > 0) this.out.push(blockHash(this.carry.subarray(0, this.carryLen)));
    this.carryLen = 0;
    return BigUint64Array.from(this.out);
  }
}

/** sha256 of a whole file, streamed through fixed buffers (the next read overlaps the hashing). */
export async function sha256File(path: string): Promise<string> {
  const small = readSmallSync(path);
  if (small) return sha256Hex(small);
  return sha256Large(path);
}

/**
 * Size and sha256 of `path` when it is a regular file, else null (a symlink is not followed, a
 * fifo not waited on). A small file costs one open, fstat, read and close.
 */
export async function fileSha256(path: string): Promise<{ size: number; sha256: string } | null> {
  const small = readSmallFileSync(path);
  if (small === 'not-file') return null;
  if (small !== 'large') return { size: small.length, sha256: sha256Hex(small) };
  // Large: streamed from a new open, as before this file's fast path (an lstat, then the read).
  const st = lstatOrNull(path);
  return st?.isFile() ? { size: st.size, sha256: await sha256Large(path) } : null;
}

async function sha256Large(path: string): Promise<string> {
  const hasher = new FileHasher();
  const fh = await openRead(path);
  // Sized to the file (see hashBlocks): small files must not cost two 2 MiB buffers each.
  const size = (await fh.stat()).size;
  const reader = new ReadAhead(
    fh,
    0,
    Number.MAX_SAFE_INTEGER,
    Math.min(IO_BUFFER_BYTES / 2, Math.max(64 * 1024, size + 1)),
  );
  try {
    for (let buf = await reader.read(); buf.length > 0; buf = await reader.read()) {
      hasher.update(buf);
    }
  } finally {
    await reader.settle();
    await fh.close();
  }
  return hasher.digest();
}
