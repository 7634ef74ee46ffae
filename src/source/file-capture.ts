// Turns one regular file into queued operations: a whole-file `put` (temp file + rename on the
// target) or in-place `write`s of only the blocks whose hashes differ from the last content sent.
// The hashes kept are those of the bytes actually read and queued, so the next delta's basis is
// exactly what the target holds even when the file changed while being read.
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  promises as fsp,
  constants as C,
  type Stats,
} from 'node:fs';
import { blockHash, FileHasher, pushBlockHashes } from '../delta/hash.js';
import { CHUNK_BYTES } from '../protocol/limits.js';
import type { WireSpan } from '../protocol/ops.js';
import type { BlockHashes } from './ledger.js';
import type { Emit, QueuedMeta } from './queued-op.js';
import { fsPath } from '../fsmeta/index.js';
import { appendPart, holeBeyond } from './sparse-parts.js';

/** Block size for change detection: small enough that a small write sends little. */
export const CAPTURE_BLOCK = 16 * 1024;

/** What the capture of one file queued. */
export interface FileCaptureResult {
  ops: number;
  bytes: number;
  hashes: BlockHashes;
  stat: { size: number; mtimeMs: number; mode: number; ino: number; dev: number };
  /** A whole-file send stopped between two parts (a paused mirror): where to go on from. */
  partial?: WholeCursor;
}

/** How far a whole-file send got: its transfer (the first part's seq) and the next offset. */
export interface WholeCursor {
  tx: number;
  off: number;
}

/** How a file is captured. */
export interface WholeOptions {
  /** For mirror sends: asked before each further part (it may wait). */
  beforePart?: () => Promise<'go' | 'stop'>;
  /** For mirror sends: go on from a cursor. */
  from?: WholeCursor;
  /** The stat taken before the read: its mode and mtime go with the data (a write racing the
   *  read leaves the target's mtime behind, so every later comparison sees it). */
  stamp?: { mode: number; mtimeMs: number };
}

/** Mode and mtime for the last op: the stamp given, else the open file's. */
async function attrsFor(fh: { stat(): Promise<Stats> }, stamp: WholeOptions['stamp']) {
  const st = stamp ?? (await fh.stat());
  return { mode: st.mode & 0o7777, mtime: st.mtimeMs };
}
type Append = Emit;

/** Opening failed because the path is gone or is no longer a regular file: nothing to send. */
const notAFile = (err: unknown): boolean =>
  ['ENOENT', 'ELOOP', 'EISDIR', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Reads `abs` once and queues a put (no basis) or changed-block writes (basis = `prev`, the last
 * content sent or the target's own block hashes). `verify` adds the whole-file sha256 so the target
 * checks the result and asks for the file whole if its copy was not the basis assumed.
 */
export async function captureFile(
  abs: string,
  rel: string,
  prev: BlockHashes | undefined,
  append: Append,
  verify = false,
  sizeHint = CHUNK_BYTES,
  whole: WholeOptions = {},
): Promise<FileCaptureResult | null> {
  if (!prev && !whole.from && sizeHint <= SMALL_FILE_BYTES)
    return captureSmall(abs, rel, append, sizeHint, whole.stamp);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(fsPath(abs), C.O_RDONLY | C.O_NOFOLLOW);
  } catch (err) {
    if (notAFile(err)) return null;
    throw err;
  }
  try {
    // A basis whose blocks tile the read chunk can be compared block by block.
    const usable = prev && prev.blockSize <= CHUNK_BYTES && CHUNK_BYTES % prev.blockSize === 0;
    return usable
      ? await sendChanged(fh, rel, prev, append, verify, whole.stamp)
      : await sendWhole(fh, rel, append, sizeHint, whole);
  } finally {
    await fh.close();
  }
}

/** Files up to this size are read with synchronous calls (see captureSmall). */
export const SMALL_FILE_BYTES = 64 * 1024;

/**
 * A new small file, whole: open, read, stat and close synchronously. Each call takes microseconds
 * for such a file, while its thread-pool round trip took a millisecond on a busy host — for a
 * burst of small files that wait was most of the capture time.
 */
async function captureSmall(
  abs: string,
  rel: string,
  append: Append,
  sizeHint: number,
  stamp: WholeOptions['stamp'],
): Promise<FileCaptureResult | null> {
  let fd: number;
  try {
    fd = openSync(fsPath(abs), C.O_RDONLY | C.O_NOFOLLOW);
  } catch (err) {
    if (notAFile(err)) return null;
    throw err;
  }
  let buf: Buffer;
  let len: number;
  let st: Stats;
  try {
    // One byte more than the stat said, to see the end in one read; the journal keeps this buffer.
    buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, sizeHint + 1));
    len = readSync(fd, buf, 0, buf.length, 0);
    st = fstatSync(fd);
  } finally {
    closeSync(fd);
  }
  if (len === buf.length)
    return captureFile(abs, rel, undefined, append, false, CHUNK_BYTES, { stamp }); // it grew: the general path
  const attrs = stamp ?? st;
  const hashes: bigint[] = [];
  hashChunk(buf, len, hashes);
  await append({
    kind: 'put',
    meta: {
      p: rel,
      off: 0,
      first: true,
      end: true,
      size: len,
      mode: attrs.mode & 0o7777,
      mtime: attrs.mtimeMs,
    },
    data: buf.subarray(0, len),
    // Not a slice of Node's shared 8 KiB pool, which the journal's hot tail would keep alive whole.
    handOver: buf.buffer.byteLength === buf.length,
  });
  return {
    ops: 1,
    bytes: len,
    hashes: { blockSize: CAPTURE_BLOCK, size: len, hashes: BigUint64Array.from(hashes) },
    stat: { size: len, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, ino: st.ino, dev: st.dev },
  };
}

function hashChunk(buf: Buffer, len: number, out: bigint[]): void {
  pushBlockHashes(buf, len, CAPTURE_BLOCK, out);
}

async function finalStat(fh: fsp.FileHandle) {
  const st = await fh.stat();
  return { mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, ino: st.ino, dev: st.dev };
}

async function sendWhole(
  fh: fsp.FileHandle,
  rel: string,
  append: Append,
  sizeHint: number,
  whole: WholeOptions = {},
): Promise<FileCaptureResult> {
  const hashes: bigint[] = [];
  // Buffers sized to the file (one byte more, to see EOF in one read): most captured files are
  // small, and two 1 MiB buffers per file made a burst of small files mostly garbage collection.
  // A whole number of capture blocks, so block hashes stay aligned if the file grew meanwhile.
  const bufLen = Math.min(CHUNK_BYTES, Math.ceil((sizeHint + 1) / CAPTURE_BLOCK) * CAPTURE_BLOCK);
  let cur: Buffer = Buffer.allocUnsafe(bufLen);
  let next: Buffer | null = null;
  const first = !whole.from; // a send going on from a cursor adds parts to its transfer
  let off = whole.from?.off ?? 0;
  let ops = 0;
  let tx = whole.from?.tx ?? 0;
  let final: Stats | null = null;
  let { bytesRead: curLen } = await fh.read(cur, 0, bufLen, off);
  for (;;) {
    // Read one chunk ahead so the last queued part is the one that carries end/size/attributes.
    // Bigger than its stat said (it grew): read on in full chunks.
    next ??= curLen === cur.length ? Buffer.allocUnsafe(CHUNK_BYTES) : null;
    const { bytesRead: nextLen } =
      next && curLen === cur.length
        ? await fh.read(next, 0, next.length, off + curLen)
        : { bytesRead: 0 };
    hashChunk(cur, curLen, hashes);
    const end = nextLen === 0;
    // The first part's own seq names the transfer (its temp file); later parts carry that seq as tx.
    const meta: QueuedMeta<'put'> =
      first && off === 0 ? { p: rel, off, first: true } : { p: rel, tx, off };
    if (end) {
      final = await fh.stat();
      const attrs = whole.stamp ?? final;
      Object.assign(meta, {
        end: true,
        size: off + curLen,
        mode: attrs.mode & 0o7777,
        mtime: attrs.mtimeMs,
      });
    }
    // Each part is read into a buffer of its own and handed to the journal (no copy; zeros: none).
    const opens = first && off === 0;
    const seq = await appendPart(append, meta, cur.subarray(0, curLen), opens || end);
    if (opens) tx = seq ?? tx;
    ops++;
    off += curLen;
    if (end) break;
    if (whole.beforePart && (await whole.beforePart()) === 'stop') {
      // Stopped between two parts: the target keeps those sent in the transfer's temp file.
      const at = await finalStat(fh);
      const none = { blockSize: CAPTURE_BLOCK, size: 0, hashes: new BigUint64Array(0) };
      return { ops, bytes: off, hashes: none, stat: { size: off, ...at }, partial: { tx, off } };
    }
    [cur, next] = [next as Buffer, null];
    curLen = nextLen;
  }
  const st = final as Stats;
  return {
    ops,
    bytes: off,
    hashes: { blockSize: CAPTURE_BLOCK, size: off, hashes: BigUint64Array.from(hashes) },
    stat: { size: off, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, ino: st.ino, dev: st.dev },
  };
}

async function sendChanged(
  fh: fsp.FileHandle,
  rel: string,
  basis: BlockHashes,
  append: Append,
  withSha: boolean,
  stamp: WholeOptions['stamp'],
): Promise<FileCaptureResult> {
  const bs = basis.blockSize;
  const hashes: bigint[] = []; // at CAPTURE_BLOCK, for the cache
  const hasher = withSha ? new FileHasher() : null;
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let pending: WireSpan[] = [];
  let pendingData: Buffer[] = [];
  let pendingBytes = 0;
  let ops = 0;
  let sent = 0;
  const flush = async (end: boolean, size: number): Promise<void> => {
    const meta: QueuedMeta<'write'> = { p: rel, ranges: pending };
    if (end)
      Object.assign(
        meta,
        { end: true, size },
        await attrsFor(fh, stamp),
        hasher ? { sha256: hasher.digest() } : {},
      );
    await append({ kind: 'write', meta, data: Buffer.concat(pendingData), handOver: true });
    ops++;
    sent += pendingBytes;
    pending = [];
    pendingData = [];
    pendingBytes = 0;
  };
  let off = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, off);
    hashChunk(buf, bytesRead, hashes);
    hasher?.update(buf.subarray(0, bytesRead));
    for (let o = 0; o < bytesRead; o += bs) {
      const block = buf.subarray(o, Math.min(bytesRead, o + bs));
      const i = (off + o) / bs;
      const basisLen = Math.min(bs, Math.max(0, basis.size - i * bs));
      const same = bs === CAPTURE_BLOCK ? hashes[i] : blockHash(block);
      if (i < basis.hashes.length && basis.hashes[i] === same && basisLen === block.length)
        continue;
      if (holeBeyond(block, off + o, basis.size)) continue; // rsync -S
      const at = off + o;
      const last = pending[pending.length - 1];
      if (last && last[0] + last[1] === at) last[1] += block.length;
      else pending.push([at, block.length]);
      pendingData.push(Buffer.from(block));
      pendingBytes += block.length;
    }
    off += bytesRead;
    if (pendingBytes >= CHUNK_BYTES) await flush(false, off);
    if (bytesRead < CHUNK_BYTES) break;
  }
  await flush(true, off);
  const st = await finalStat(fh);
  return {
    ops,
    bytes: sent,
    hashes: { blockSize: CAPTURE_BLOCK, size: off, hashes: BigUint64Array.from(hashes) },
    stat: { size: off, ...st },
  };
}
