// The hash pool's worker (hash-pool.ts), as source text: it must run from dist/ and under the
// tests' TypeScript alike, and needs nothing but fs, crypto and xxhash-wasm (whose path it is
// given). Each kind repeats one inline function of small-file.ts, call for call, so a result
// means what the inline path's would: `blocks` is readSmallStat then the block hashes and
// sha256; `sums` is readSmallFileSync then sha256.

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
const C = fs.constants;
const SMALL = workerData.small;
const FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;
const NOT_FILE = ['ELOOP', 'ENXIO', 'ENOENT', 'ENOTDIR'];
const scratch = Buffer.allocUnsafeSlow(SMALL + 1);
const sha256 = crypto.hash
  ? (b) => crypto.hash('sha256', b, 'hex')
  : (b) => crypto.createHash('sha256').update(b).digest('hex');
let h64 = null;
const early = [];
require(workerData.xxhash)().then((x) => {
  h64 = x.h64Raw;
  for (const m of early.splice(0)) handle(m);
});
parentPort.on('message', (m) => (h64 ? handle(m) : early.push(m)));

function readUpTo(fd, size) {
  let n = 0;
  for (;;) {
    const r = fs.readSync(fd, scratch, n, scratch.length - n, n);
    n += r;
    if (n === scratch.length) return null;
    if (r === 0 || (size > 0 && n >= size)) return n;
  }
}

function putStat(out, o, st) {
  out[o + 1] = st.dev; out[o + 2] = st.ino; out[o + 3] = st.mode; out[o + 4] = st.nlink;
  out[o + 5] = st.uid; out[o + 6] = st.gid; out[o + 7] = st.rdev; out[o + 8] = st.size;
  out[o + 9] = st.mtimeMs; out[o + 10] = st.ctimeMs;
}

function blocks(p, size, blockSize, out, o, sha, i, hashes) {
  if (size > SMALL) return;
  let fd;
  try { fd = fs.openSync(p, FLAGS); } catch { return; }
  try {
    const n = readUpTo(fd, size);
    if (n === null) return;
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== n) return;
    const buf = scratch.subarray(0, n);
    let count = 0;
    for (let off = 0; off < n; off += blockSize, count++)
      hashes.push(h64(buf.subarray(off, Math.min(n, off + blockSize))));
    sha[i] = sha256(buf);
    putStat(out, o, st);
    out[o + 11] = count;
    out[o] = 1;
  } catch {
    return;
  } finally {
    fs.closeSync(fd);
  }
}

function sums(p, out, o, sha, i) {
  let fd;
  try {
    fd = fs.openSync(p, FLAGS);
  } catch (err) {
    out[o] = NOT_FILE.includes((err && err.code) || '') ? 0 : 2;
    return;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return;
    out[o] = 2;
    if (st.size > SMALL) return;
    const n = readUpTo(fd, st.size);
    if (n === null) return;
    sha[i] = sha256(scratch.subarray(0, n));
    out[o + 8] = n;
    out[o] = 1;
  } catch {
    out[o] = 2;
  } finally {
    fs.closeSync(fd);
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
    const p = paths.subarray(start, end);
    start = end + 1;
    if (kind === 'blocks') blocks(p, sizes[i], blockSize, out, i * ${FIELDS}, sha, i, hashes);
    else sums(p, out, i * ${FIELDS}, sha, i);
  }
  const h = BigUint64Array.from(hashes);
  parentPort.postMessage({ id, out, sha, hashes: h }, [out.buffer, h.buffer]);
}
`;
