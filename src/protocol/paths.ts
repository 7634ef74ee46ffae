// Validation of relative paths received from the wire (first line of confinement; the target
// re-checks every component on disk).
import { SmrError } from '../shared/errors.js';
import { nameByteLength, nameProblem } from '../shared/name-bytes.js';
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './limits.js';

/** Returns the components of a safe relative path ('a/b/c'), or throws path-refused. */
export function splitSafeRelPath(p: unknown, what = 'path'): string[] {
  if (typeof p !== 'string' || p.length === 0)
    throw new SmrError('path-refused', `${what} is empty`);
  if (nameByteLength(p) > MAX_PATH_BYTES)
    throw new SmrError('path-refused', `${what} is longer than ${MAX_PATH_BYTES} bytes`);
  if (p.includes('\0')) throw new SmrError('path-refused', `${what} contains a NUL byte`);
  const problem = nameProblem(p);
  if (problem) throw new SmrError('path-refused', `${what} ${problem}`);
  // A backslash is an ordinary name character on POSIX, but a separator on Windows.
  if (
    p.startsWith('/') ||
    (process.platform === 'win32' && (p.includes('\\') || /^[a-zA-Z]:/.test(p)))
  ) {
    throw new SmrError(
      'path-refused',
      `${what} "${p}" is absolute`,
      'give a path relative to the target root',
    );
  }
  const parts = p.split('/');
  for (const c of parts) {
    if (c === '' || c === '.' || c === '..') {
      throw new SmrError(
        'path-refused',
        `${what} "${p}" has an empty, "." or ".." component`,
        'give a plain relative path such as web or apps/web',
      );
    }
    if (nameByteLength(c) > MAX_NAME_BYTES)
      throw new SmrError(
        'path-refused',
        `${what} has a component longer than ${MAX_NAME_BYTES} bytes`,
      );
  }
  return parts;
}
