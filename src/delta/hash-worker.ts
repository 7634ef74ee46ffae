// The hash pool's worker (hash-pool.ts), as source text: it must run from dist/ and under the
// tests' TypeScript alike, and needs nothing but fs, crypto, xxhash-wasm (whose path it is
// given) and koffi where a plan names it (hash-worker-io.ts says how it opens and reads). Each
// kind repeats one inline function of small-file.ts, call for call, so a result means what the
// inline path's would: `blocks` is readSmallStat then the block hashes and sha256; `sums` is
// readSmallFileSync then sha256.

import { FILE_IO_SOURCE } from './hash-worker-io.js';

/** The two kinds of batch. */
export type Kind = 'blocks' | 'sums';

/**
 * Numbers per path in a reply: status, then dev, ino, mode, nlink, uid, gid, rdev, size,
 * mtimeMs, ctimeMs (the stat on the open file after the read), and the count of block hashes.
 * Status 1: hashed; 0: null (as the inline path's); 2 (`sums` only): take the general path.
 */
export const FIELDS = 12;

/** A batch's answer. */
export interface Reply {
  id: number;
  out: Float64Array;
  /** Hex sha256 per path ('' where not hashed). */
  sha: string[];
  /** Every hashed path's block hashes, in order (`blocks`). */
  hashes: BigUint64Array;
}

export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
${FILE_IO_SOURCE}
const SMALL = workerData.small;
const NOT_FILE = ['ELOOP', 'ENXIO', 'ENOENT', 'ENOTDIR'];
const S_IFMT = 0o170000, S_IFREG = 0o100000;
const scratch = Buffer.allocUnsafeSlow(SMALL + 1);
const st = new Float64Array(10);
const sha256 = crypto.hash
  ? (b) => crypto.hash('sha256', b, 'hex')
  : (b) => crypto.createHash('sha256').update(b).digest('hex');
let h64 = null;
const early = [];
// null: stop once what was asked is answered (the port closes, the loop runs dry).
const take = (m) => (m === null ? parentPort.close() : handle(m));
require(workerData.xxhash)().then((x) => {
  h64 = x.h64Raw;
  for (const m of early.splice(0)) take(m);
});
parentPort.on('message', (m) => (h64 ? take(m) : early.push(m)));

function readUpTo(fd, size) {
  let n = 0;
  for (;;) {
    const r = readFile(fd, scratch, n, scratch.length - n);
    n += r;
    if (n === scratch.length) return null;
    if (r === 0 || (size > 0 && n >= size)) return n;
  }
}

function putStat(out, o) {
  for (let k = 0; k < 10; k++) out[o + 1 + k] = st[k];
}

function blocks(paths, start, end, size, blockSize, out, o, sha, i, hashes) {
  if (size > SMALL) return;
  const fd = openFile(paths, start, end);
  if (typeof fd === 'string') return;
  try {
    const n = readUpTo(fd, size);
    if (n === null) return;
    fstatFile(fd, st);
    if ((st[2] & S_IFMT) !== S_IFREG || st[7] !== n) return;
    const buf = scratch.subarray(0, n);
    let count = 0;
    for (let off = 0; off < n; off += blockSize, count++)
      hashes.push(h64(buf.subarray(off, Math.min(n, off + blockSize))));
    sha[i] = sha256(buf);
    putStat(out, o);
    out[o + 11] = count;
    out[o] = 1;
  } catch {
    return;
  } finally {
    closeFile(fd);
  }
}

function sums(paths, start, end, out, o, sha, i) {
  const fd = openFile(paths, start, end);
  if (typeof fd === 'string') {
    out[o] = NOT_FILE.includes(fd) ? 0 : 2;
    return;
  }
  try {
    fstatFile(fd, st);
    if ((st[2] & S_IFMT) !== S_IFREG) return;
    out[o] = 2;
    if (st[7] > SMALL) return;
    const n = readUpTo(fd, st[7]);
    if (n === null) return;
    sha[i] = sha256(scratch.subarray(0, n));
    out[o + 8] = n;
    out[o] = 1;
  } catch {
    out[o] = 2;
  } finally {
    closeFile(fd);
  }
}

function handle({ id, kind, bytes, sizes, n, blockSize }) {
  const paths = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n * ${FIELDS});
  const sha = new Array(n).fill('');
  const hashes = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = paths.indexOf(0, start);
    if (kind === 'blocks') blocks(paths, start, end, sizes[i], blockSize, out, i * ${FIELDS}, sha, i, hashes);
    else sums(paths, start, end, out, i * ${FIELDS}, sha, i);
    start = end + 1;
  }
  endBatch();
  const h = BigUint64Array.from(hashes);
  parentPort.postMessage({ id, out, sha, hashes: h }, [out.buffer, h.buffer]);
}
`;
