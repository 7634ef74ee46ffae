// One file of a diff or checksum mirror, against the target's own block hashes: equal content is
// recorded as known (no data sent); otherwise only differing blocks go, with the whole-file sha256
// so the target proves the result (and asks for the file whole if its copy was not the basis).
import { promises as fsp, constants as C, type Stats } from 'node:fs';
import { blockHash, FileHasher, StreamBlockHasher } from '../delta/hash.js';
import { decodeFine, encodeRanges } from '../delta/index.js';
import type { AskTarget } from './delta-send.js';
import { CHUNK_BYTES } from '../protocol/limits.js';
import type { WireSpan } from '../protocol/ops.js';
import type { BlocksReply } from '../protocol/requests.js';
import type { BlockHashes } from './ledger.js';
import { CAPTURE_BLOCK } from './file-capture.js';
import type { Emit, QueuedMeta } from './queued-op.js';
import { fsPath } from '../fsmeta/index.js';

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
    fh = await fsp.open(fsPath(abs), C.O_RDONLY | C.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const atBasis = new StreamBlockHasher(basisBlock);
    const capture = new StreamBlockHasher(CAPTURE_BLOCK);
    const sha = new FileHasher();
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, size);
      const read = buf.subarray(0, bytesRead);
      atBasis.update(read);
      capture.update(read);
      sha.update(read);
      size += bytesRead;
      if (bytesRead < CHUNK_BYTES) break;
    }
    return {
      size,
      sha256: sha.digest(),
      atBasis: atBasis.finish(),
      capture: { blockSize: CAPTURE_BLOCK, size, hashes: capture.finish() },
    };
  } finally {
    await fh.close();
  }
}

/** True when the target's copy has the same bytes as the local file. */
export function sameContent(local: LocalHashes, remote: BlocksReply): boolean {
  return remote.exists && local.size === remote.size && local.sha256 === remote.sha256;
}

/** Files at least this big are sampled for shifted data before their full block comparison. */
export const SHIFT_SAMPLE_MIN_BYTES = 1024 * 1024;
const SHIFT_SAMPLES = 32;
const SAMPLE_BYTES = 4096;

/**
 * Whether most of the file sits at other offsets on the target (bytes inserted or removed early
 * on): compares SHIFT_SAMPLES blocks spread over the file, hashed on both sides at the same
 * offsets (one `fine` request, a few reads). Such a file goes straight to the content-defined
 * delta: the full block comparison would only find most blocks out of place (a whole-file pass on
 * each side for nothing: a third of case (c)'s time). A yes also proves the files differ. Any
 * failure answers no, so the block comparison decides as before; the choice changes what is
 * sent, never what the target ends with.
 */
export async function looksShifted(
  abs: string,
  rel: string,
  size: number,
  request: AskTarget,
): Promise<boolean> {
  if (size < SHIFT_SAMPLE_MIN_BYTES) return false;
  const offsets: number[] = [];
  for (let i = 0; i < SHIFT_SAMPLES; i++) {
    const o = Math.floor(((i + 0.5) * size) / SHIFT_SAMPLES / SAMPLE_BYTES) * SAMPLE_BYTES;
    if (o + SAMPLE_BYTES <= size && o !== offsets[offsets.length - 1]) offsets.push(o);
  }
  try {
    const ranges = offsets.map((offset) => ({ offset, length: SAMPLE_BYTES }));
    const reply = request(
      { op: 'fine', p: rel, blockSize: SAMPLE_BYTES },
      Buffer.concat(encodeRanges(ranges)),
    ).then((f) => decodeFine(f.body));
    reply.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const mine = new Map<number, bigint>();
    const fh = await fsp.open(fsPath(abs), C.O_RDONLY | C.O_NOFOLLOW);
    try {
      const buf = Buffer.allocUnsafe(SAMPLE_BYTES);
      for (const o of offsets) {
        const { bytesRead } = await fh.read(buf, 0, SAMPLE_BYTES, o);
        if (bytesRead === SAMPLE_BYTES) mine.set(o, blockHash(buf));
      }
    } finally {
      await fh.close();
    }
    const theirs = new Map<number, bigint>();
    const fine = await reply;
    let k = 0;
    for (const r of fine.ranges)
      for (let at = r.offset; at < r.offset + r.length; at += fine.blockSize, k++)
        if (Math.min(fine.blockSize, r.offset + r.length - at) === SAMPLE_BYTES)
          theirs.set(at, fine.strong[k] as bigint);
    // Only blocks read whole here count; each one counted proves the files differ (the caller
    // tells the target so: it need not hash its copy for an "unchanged" check).
    const differ = offsets.filter((o) => mine.has(o) && theirs.get(o) !== mine.get(o));
    return differ.length * 2 > offsets.length;
  } catch {
    return false;
  }
}

/** The target's hashes as a basis for changed-block writes. */
export function basisOf(remote: BlocksReply): BlockHashes | undefined {
  if (!remote.exists) return undefined;
  return { blockSize: remote.blockSize, size: remote.size, hashes: remote.hashes };
}

/** Mode or mtime differ between the source stat and the target's listing entry. */
export function attrsDiffer(
  st: Pick<Stats, 'mode' | 'mtimeMs'>,
  t: { mode: number; mtimeMs: number },
): boolean {
  return (st.mode & 0o7777) !== t.mode || Math.abs(st.mtimeMs - t.mtimeMs) > 1;
}

/**
 * Where the local file differs from the target's copy, as [offset, length] runs of the basis's
 * blocks (a block differs when its hash or its length differs, or the target has none there).
 */
export function differingRanges(local: LocalHashes, basis: BlockHashes): WireSpan[] {
  const bs = basis.blockSize;
  const out: WireSpan[] = [];
  for (let i = 0; i * bs < local.size; i++) {
    const len = Math.min(bs, local.size - i * bs);
    const basisLen = Math.min(bs, Math.max(0, basis.size - i * bs));
    if (i < basis.hashes.length && basis.hashes[i] === local.atBasis[i] && basisLen === len)
      continue;
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === i * bs) last[1] += len;
    else out.push([i * bs, len]);
  }
  return out;
}

/**
 * Queues in-place `write`s of just `ranges` of the file (read again at those offsets only), the
 * last one carrying size, the attributes of `stamp` (the stat taken before the hashing pass) and
 * the sha256 that pass found. If the file changed since, the target's proof fails and it asks for
 * the file whole: never left wrong. Returns the bytes queued and the file's stat at the end.
 */
export async function sendRanges(
  abs: string,
  rel: string,
  ranges: WireSpan[],
  local: { size: number; sha256: string },
  append: Emit,
  stamp: Pick<Stats, 'mode' | 'mtimeMs'>,
): Promise<{ bytes: number; stat: Stats }> {
  const fh = await fsp.open(fsPath(abs), C.O_RDONLY | C.O_NOFOLLOW);
  try {
    let pending: WireSpan[] = [];
    let data: Buffer[] = [];
    let pendingBytes = 0;
    let bytes = 0;
    const flush = async (end: boolean): Promise<void> => {
      const meta: QueuedMeta<'write'> = { p: rel, ranges: pending };
      if (end) {
        const attrs = { mode: stamp.mode & 0o7777, mtime: stamp.mtimeMs };
        Object.assign(meta, { end: true, size: local.size, sha256: local.sha256 }, attrs);
      }
      await append({ kind: 'write', meta, data: Buffer.concat(data), handOver: true });
      bytes += pendingBytes;
      [pending, data, pendingBytes] = [[], [], 0];
    };
    for (const [start, length] of ranges) {
      for (let at = start; at < start + length;) {
        const len = Math.min(CHUNK_BYTES - pendingBytes, start + length - at);
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, at);
        // Shorter now than when hashed: send what is there; the proof fails and NEED follows.
        if (bytesRead === 0) break;
        pending.push([at, bytesRead]);
        data.push(buf.subarray(0, bytesRead));
        pendingBytes += bytesRead;
        at += bytesRead;
        if (pendingBytes >= CHUNK_BYTES) await flush(false);
      }
    }
    await flush(true);
    return { bytes, stat: await fh.stat() };
  } finally {
    await fh.close();
  }
}
