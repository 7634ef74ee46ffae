// Hash primitives: xxh64 for blocks (fast, ~5 GB/s in wasm) and sha256 for whole files (the proof
// that a rebuilt file equals its source).
import { createHash, type Hash } from 'node:crypto';
import xxhashWasm from 'xxhash-wasm';
import { SmrError } from '../shared/errors.js';
import { IO_BUFFER_BYTES } from './limits.js';
import { openRead, ReadAhead } from './reader.js';
import { readSmallSync } from './small-file.js';

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

/** xxh64 of a block; synchronous so hot loops need no await (initHash() must have resolved). */
export function blockHash(buf: Uint8Array): bigint {
  if (!api) throw new SmrError('internal', 'blockHash used before initHash() resolved');
  return api.h64Raw(buf);
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

/** sha256 of a whole file, streamed through fixed buffers (the next read overlaps the hashing). */
export async function sha256File(path: string): Promise<string> {
  const small = readSmallSync(path);
  if (small) return new FileHasher().update(small).digest();
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
