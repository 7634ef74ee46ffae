// Paths as stored keys. A key is the path's bytes with every '/' replaced by 0x00, a byte no name
// can contain. Byte order of keys (SQLite compares BLOBs with memcmp) is then depth-first order
// with siblings sorted by name bytes — the order a walk of the tree produces — and a path's whole
// subtree is one contiguous key range: [key, key + 0x01).
import { SmrError } from '../shared/errors.js';

const SLASH = 0x2f;
const DOT = 0x2e;
const SEP = 0x00;

/** Why `path` cannot be an index path, or null when it can. */
function pathProblem(path: Buffer): string | null {
  if (path.length === 0) return null;
  if (path[0] === SLASH) return 'starts with /';
  if (path[path.length - 1] === SLASH) return 'ends with /';
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    const b = i < path.length ? path[i] : SLASH;
    if (b === SEP) return 'contains a NUL byte';
    if (b !== SLASH) continue;
    const len = i - start;
    if (len === 0) return 'has an empty component';
    if (path[start] === DOT && (len === 1 || (len === 2 && path[start + 1] === DOT)))
      return 'has a . or .. component';
    start = i + 1;
  }
  return null;
}

/** The key of `path`; refuses what is not a relative, normalised path. */
export function toKey(path: Buffer): Buffer {
  const problem = pathProblem(path);
  if (problem) {
    throw new SmrError('usage', `index path ${JSON.stringify(path.toString('latin1'))} ${problem}`);
  }
  const key = Buffer.from(path);
  for (let i = key.indexOf(SLASH); i >= 0; i = key.indexOf(SLASH, i + 1)) key[i] = SEP;
  return key;
}

/** The path of `key`, converting it in place (keys read from SQLite are fresh copies). */
export function fromKey(key: Buffer): Buffer {
  for (let i = key.indexOf(SEP); i >= 0; i = key.indexOf(SEP, i + 1)) key[i] = SLASH;
  return key;
}

/** The exclusive upper bound of the subtree of `key` (itself and everything below it). */
export function subtreeEnd(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.of(0x01)]);
}

/** The keys of the subtree of `key`: itself and everything below it (null: the root, all keys). */
export function subtreeRange(key: Buffer): { lo: Buffer; hi: Buffer } | null {
  return key.length === 0 ? null : { lo: key, hi: subtreeEnd(key) };
}

/** The first key strictly below `key` could start at (the root's children start anywhere). */
export function childrenStart(key: Buffer): Buffer {
  return key.length === 0 ? key : Buffer.concat([key, Buffer.of(SEP)]);
}

/** Whether `key` names a direct child of the directory whose children start at `start`. */
export function isDirectChild(key: Buffer, start: Buffer): boolean {
  return key.length > start.length && key.indexOf(SEP, start.length) < 0;
}

/** The key of the direct child of the directory (children start at `start`) that holds `key`. */
export function childHolding(key: Buffer, start: Buffer): Buffer {
  const end = key.indexOf(SEP, start.length);
  return end < 0 ? key : key.subarray(0, end);
}

/** Orders two paths the way the index iterates them: depth first, siblings by name bytes. */
export function comparePaths(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] === SLASH ? SEP : (a[i] as number);
    const y = b[i] === SLASH ? SEP : (b[i] as number);
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/** Whether `inner` is `outer` or lies below it (both paths). */
export function isWithin(inner: Buffer, outer: Buffer): boolean {
  if (outer.length === 0) return true;
  if (inner.length < outer.length || inner.compare(outer, 0, outer.length, 0, outer.length) !== 0)
    return false;
  return inner.length === outer.length || inner[outer.length] === SLASH;
}
