// One file of a diff or checksum mirror, against the target's own block hashes: equal content is
// recorded as known (no data sent); otherwise only differing blocks go, with the whole-file sha256
// so the target proves the result (and asks for the file whole if its copy was not the basis).
import { promises as fsp, constants as C, type Stats } from 'node:fs';
import { blockHash, FileHasher } from '../delta/hash.js';
import { CHUNK_BYTES } from '../protocol/limits.js';
import type { BlockHashes } from './block-cache.js';
import type { RemoteBlocks } from './compare.js';
import { CAPTURE_BLOCK } from './file-capture.js';

/** A local file hashed at the target's block size, at the capture block size, and whole. */
export interface LocalHashes {
  size: number;
  sha256: string;
  atBasis: BigUint64Array;
  capture: BlockHashes;
}

/** Reads a file once, hashing it three ways (compare, cache, proof). */
export async function hashForMirror(abs: string, basisBlock: number): Promise<LocalHashes | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(abs, C.O_RDONLY | C.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const atBasis: bigint[] = [];
    const capture: bigint[] = [];
    const sha = new FileHasher();
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, size);
      for (let o = 0; o < bytesRead; o += basisBlock)
        atBasis.push(blockHash(buf.subarray(o, Math.min(bytesRead, o + basisBlock))));
      for (let o = 0; o < bytesRead; o += CAPTURE_BLOCK)
        capture.push(blockHash(buf.subarray(o, Math.min(bytesRead, o + CAPTURE_BLOCK))));
      sha.update(buf.subarray(0, bytesRead));
      size += bytesRead;
      if (bytesRead < CHUNK_BYTES) break;
    }
    return {
      size,
      sha256: sha.digest(),
      atBasis: BigUint64Array.from(atBasis),
      capture: { blockSize: CAPTURE_BLOCK, size, hashes: BigUint64Array.from(capture) },
    };
  } finally {
    await fh.close();
  }
}

/** True when the target's copy has the same bytes as the local file. */
export function sameContent(local: LocalHashes, remote: RemoteBlocks): boolean {
  return remote.exists && local.size === remote.size && local.sha256 === remote.sha256;
}

/** The target's hashes as a basis for changed-block writes. */
export function basisOf(remote: RemoteBlocks): BlockHashes | undefined {
  if (!remote.exists || !remote.hashes || !remote.blockSize || remote.size === undefined)
    return undefined;
  return { blockSize: remote.blockSize, size: remote.size, hashes: remote.hashes };
}

/** Mode or mtime differ between the source stat and the target's listing entry. */
export function attrsDiffer(st: Stats, t: { mode: number; mtimeMs: number }): boolean {
  return (st.mode & 0o7777) !== t.mode || Math.abs(st.mtimeMs - t.mtimeMs) > 1;
}
