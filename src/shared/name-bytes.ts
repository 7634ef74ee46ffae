// Names as bytes inside JS strings. Linux names are byte strings; smr keeps paths as strings and
// maps each byte that is not part of valid UTF-8 to a lone surrogate U+DC80..U+DCFF (Python's
// "surrogateescape"), so every name round-trips exactly: through the index, the journal and the
// JSON headers on the wire (JSON.stringify writes a lone surrogate as a `\udcXY` escape). Every fs
// call turns a path back into bytes with fsPath (docs/PROTOCOL.md, "Names").
import { isUtf8 as nodeIsUtf8 } from 'node:buffer';
import { SmrError } from './errors.js';

// Any UTF-16 surrogate: only a string holding one needs more than the fast path.
const SURROGATE = /[\ud800-\udfff]/;

/** True when the bytes are valid UTF-8 (the name survives a plain round trip through a string). */
export function isUtf8(b: Buffer): boolean {
  return nodeIsUtf8(b);
}

/** The name of these bytes: valid UTF-8 decoded, every other byte 0xXY as U+DCXY. */
export function nameFromBytes(b: Buffer): string {
  if (nodeIsUtf8(b)) return b.toString('utf8');
  let out = '';
  let i = 0;
  while (i < b.length) {
    const len = utf8SequenceLength(b, i);
    if (len === 0) {
      out += String.fromCharCode(0xdc00 | (b[i] as number));
      i += 1;
    } else {
      // Valid runs are decoded together; only an invalid byte costs a step of its own.
      let j = i + len;
      while (j < b.length) {
        const n = utf8SequenceLength(b, j);
        if (n === 0) break;
        j += n;
      }
      out += b.toString('utf8', i, j);
      i = j;
    }
  }
  return out;
}

/** Why `s` is not a name smr can turn into bytes (a lone surrogate that is no escape), or null. */
export function nameProblem(s: string): string | null {
  if (!SURROGATE.test(s)) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    } else if (c >= 0xdc80 && c <= 0xdcff) continue;
    return `holds a lone surrogate U+${c.toString(16).toUpperCase()} that stands for no byte`;
  }
  return null;
}

/** The bytes of name or path `s` (the inverse of nameFromBytes); refuses a string it cannot map. */
export function nameBytes(s: string): Buffer {
  if (!SURROGATE.test(s)) return Buffer.from(s, 'utf8');
  const problem = nameProblem(s);
  if (problem) throw new SmrError('path-refused', `a path ${problem}`);
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff)
      i++; // a valid pair (checked above): plain UTF-8
    else if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.of(c & 0xff));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** The path as Node's fs needs it: unchanged without escapes (the common case), else its bytes. */
export function fsPath(p: string | Buffer): string | Buffer {
  return typeof p !== 'string' || !SURROGATE.test(p) ? p : nameBytes(p);
}

/** How many bytes `s` names on disk (a limit such as 255 per component is one of bytes). */
export function nameByteLength(s: string): number {
  return SURROGATE.test(s) ? nameBytes(s).length : Buffer.byteLength(s, 'utf8');
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when the byte there starts none. */
export function utf8SequenceLength(b: Buffer, i: number): number {
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
  return nodeIsUtf8(b.subarray(i, i + len)) ? len : 0;
}
