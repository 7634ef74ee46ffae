// Paths as bytes: Linux names are byte strings, so every fsmeta function takes a Buffer (or a
// string, for convenience) and never decodes a name it did not have to.
import { SmrError } from '../shared/errors.js';
import { nameBytes, utf8SequenceLength } from '../shared/name-bytes.js';

// Names inside smr are strings with escaped bytes (shared/name-bytes.ts); these turn them to bytes.
export {
  fsPath,
  isUtf8,
  nameByteLength,
  nameBytes,
  nameFromBytes,
  nameProblem,
} from '../shared/name-bytes.js';

/** A path as Node's fs accepts it; a Buffer carries any name, including non-UTF-8 bytes. */
export type FsPath = string | Buffer;

const SLASH = Buffer.from('/');

/** The path as bytes (a string's escaped bytes, shared/name-bytes.ts, become those bytes). */
export function pathBytes(p: FsPath): Buffer {
  return typeof p === 'string' ? nameBytes(p) : p;
}

/** The NUL-terminated C string a libc call needs; a NUL inside would silently cut the path. */
export function cString(p: FsPath): Buffer {
  const b = pathBytes(p);
  if (b.includes(0))
    throw new SmrError('path-refused', `a path contains a NUL byte: ${displayPath(b)}`);
  return Buffer.concat([b, Buffer.alloc(1)]);
}

/** `dir/name` as bytes, for walking trees whose names are not valid UTF-8. */
export function joinBytes(dir: FsPath, name: FsPath): Buffer {
  const d = pathBytes(dir);
  const n = pathBytes(name);
  if (d.length === 0) return Buffer.from(n);
  return d[d.length - 1] === 0x2f ? Buffer.concat([d, n]) : Buffer.concat([d, SLASH, n]);
}

/**
 * A one-line, printable form for logs: valid UTF-8 stays readable; control characters, a
 * backslash and bytes that are not UTF-8 are escaped as `\xNN`, so two different names never
 * print the same and a newline in a name cannot forge a log line.
 */
export function displayPath(p: FsPath): string {
  const b = pathBytes(p);
  let out = '';
  let i = 0;
  while (i < b.length) {
    const len = utf8SequenceLength(b, i);
    const byte = b[i] as number;
    if (len === 0 || (len === 1 && (byte < 0x20 || byte === 0x7f || byte === 0x5c))) {
      out += `\\x${byte.toString(16).padStart(2, '0')}`;
      i += 1;
    } else {
      out += b.toString('utf8', i, i + len);
      i += len;
    }
  }
  return out;
}
