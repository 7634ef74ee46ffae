// Paths as bytes: Linux names are byte strings, so every fsmeta function takes a Buffer (or a
// string, for convenience) and never decodes a name it did not have to.
import { SmrError } from '../shared/errors.js';

/** A path as Node's fs accepts it; a Buffer carries any name, including non-UTF-8 bytes. */
export type FsPath = string | Buffer;

const SLASH = Buffer.from('/');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The path as bytes (strings are taken as UTF-8, as Node's fs does). */
export function pathBytes(p: FsPath): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
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

/** True when the bytes are valid UTF-8 (the name survives a round trip through a JS string). */
export function isUtf8(b: Buffer): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
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

// Length of the valid UTF-8 sequence starting at i, or 0 when the byte there starts none.
function utf8SequenceLength(b: Buffer, i: number): number {
  const first = b[i] as number;
  if (first < 0x80) return 1;
  const len =
    first >= 0xc2 && first <= 0xdf
      ? 2
      : first >= 0xe0 && first <= 0xef
        ? 3
        : first >= 0xf0 && first <= 0xf4
          ? 4
          : 0;
  if (len === 0 || i + len > b.length) return 0;
  return isUtf8(b.subarray(i, i + len)) ? len : 0;
}
