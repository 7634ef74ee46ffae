// The one place where capture's paths (strings, '/'-separated, relative to the connection's root)
// become the index's paths (bytes) and back. A byte of a name that is not UTF-8 is an escape in
// the string (shared/name-bytes.ts) and that byte again in the index, so keys stay byte-exact.
import { nameBytes, nameFromBytes } from '../fsmeta/index.js';

/** The index path of a capture path. */
export function pathKey(rel: string): Buffer {
  return nameBytes(rel);
}

/** The capture path of an index path. */
export function relOf(p: Buffer): string {
  return nameFromBytes(p);
}

/** Whether `rel` is `dir` or lies below it. */
export function within(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || rel.startsWith(dir + '/');
}
