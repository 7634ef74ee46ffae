// What an apply step could not do, and why: returned, never swallowed, so the caller logs and counts it.
import type { MetaAttr } from './types.js';
import { codeOf } from './xattr.js';
import { displayPath, type FsPath } from './paths.js';

/** One attribute the target could not set on one entry. */
export interface NotApplied {
  attr: MetaAttr;
  reason: string;
}

// errno codes that mean "this system or this user cannot hold that attribute here", as opposed
// to the entry having vanished or the disk failing, which are thrown.
const REFUSALS = new Set([
  'EPERM',
  'EACCES',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSPC',
  'E2BIG',
  'ERANGE',
  'EINVAL',
]);

/** True when err is a refusal to record rather than a failure to throw. */
export function isRefusal(err: unknown): boolean {
  return REFUSALS.has(codeOf(err) ?? '');
}

/** Who this process is, for reasons ("as uid 1000, not root"). */
export function whoAmI(): string {
  const uid = process.geteuid?.();
  return uid === 0 ? 'as root' : `as uid ${uid ?? '?'}, not root`;
}

/** Runs one attribute call; a refusal becomes a NotApplied entry, anything else is thrown. */
export function attempt(
  attr: MetaAttr,
  what: string,
  p: FsPath,
  fn: () => void,
  out: NotApplied[],
): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (!isRefusal(err)) throw err;
    out.push({ attr, reason: `${what} on ${displayPath(p)}: ${codeOf(err)} (${whoAmI()})` });
    return false;
  }
}
