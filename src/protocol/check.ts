// Small combinators for validating what arrives from the wire: each check either returns the value,
// typed, or throws a protocol error that names the field and what it should have been. They build
// fresh objects holding only the fields they know, so nothing unchecked travels further.
import { SmrError } from '../shared/errors.js';
import { nameByteLength, nameProblem } from '../shared/name-bytes.js';
import { MAX_PATH_BYTES } from './limits.js';

/** Validates one value found at `where`; returns it typed or throws SmrError('protocol'). */
export type Check<T> = (v: unknown, where: string) => T;

/** The type a check returns. */
export type Checked<C> = C extends Check<infer T> ? T : never;

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: Checked<S[K]> };

/** Characters of a free-text field (messages, ids, hashes); paths have their own limit. */
export const MAX_TEXT = 64 * 1024;

/** Throws the protocol error for a value at `where` that is not `what`. */
export function refuse(where: string, what: string, v: unknown): never {
  const shown = JSON.stringify(v);
  const brief = shown === undefined ? String(v) : shown.slice(0, 80);
  throw new SmrError('protocol', `${where} must be ${what}, got ${brief}`);
}

/** A string of at most `max` characters. */
export function text(max = MAX_TEXT): Check<string> {
  return (v, where) =>
    typeof v === 'string' && v.length <= max ? v : refuse(where, `a string of ≤ ${max} chars`, v);
}

/** One of the given strings. */
export function oneOf<T extends string>(...values: readonly T[]): Check<T> {
  return (v, where) =>
    values.includes(v as T) ? (v as T) : refuse(where, `one of ${values.join('|')}`, v);
}

/** A safe integer in [min, max] (offsets, lengths, seqs: never a fraction, never negative). */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER): Check<number> {
  return (v, where) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
      ? v
      : refuse(where, `an integer in ${min}..${max}`, v);
}

/** A time in ms since the epoch, within what a Date can hold (mtimes carry fractions). */
export const mtime: Check<number> = (v, where) =>
  typeof v === 'number' && Math.abs(v) <= 8.64e15 ? v : refuse(where, 'a time in ms', v);

/** true or false. */
export const bool: Check<boolean> = (v, where) =>
  typeof v === 'boolean' ? v : refuse(where, 'true or false', v);

/** A file mode's permission bits. */
export const mode = int(0, 0o7777);

/** A sha256 as 64 lowercase hex digits. */
export const sha256: Check<string> = (v, where) =>
  typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? v : refuse(where, 'a hex sha256', v);

/**
 * A relative path as bytes on the wire: a non-empty string without NUL whose lone surrogates are
 * all escaped bytes (U+DC80..U+DCFF, docs/PROTOCOL.md "Names"), of at most MAX_PATH_BYTES bytes
 * once those are bytes again. What it may name (no `..`, nothing absolute, no symlinked parent)
 * is the target's confinement, checked against the disk where it is used.
 */
export const relPath: Check<string> = (v, where) => {
  if (typeof v !== 'string' || v.length === 0) return refuse(where, 'a non-empty path', v);
  if (v.length > MAX_PATH_BYTES)
    return refuse(where, `a path of ≤ ${MAX_PATH_BYTES} bytes`, `${v.slice(0, 40)}…`);
  if (v.includes('\0') || nameProblem(v) !== null)
    return refuse(where, 'a path without NUL or broken characters', v);
  if (nameByteLength(v) > MAX_PATH_BYTES)
    return refuse(where, `a path of ≤ ${MAX_PATH_BYTES} bytes`, `${v.slice(0, 40)}…`);
  return v;
};

/** A small tally: at most 64 keys of ≤ 64 characters, each a count. */
export const tally: Check<Record<string, number>> = (v, where) => {
  if (!isObject(v) || Object.keys(v).length > 64) return refuse(where, 'a tally of ≤ 64 keys', v);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) out[text(64)(k, where)] = int()(n, `${where}.${k}`);
  return out;
};

/** `check`, or null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, where) => (v === null ? null : check(v, where));
}

/** A list of at most `max` items, each passing `check`. */
export function list<T>(check: Check<T>, max: number): Check<T[]> {
  return (v, where) => {
    if (!Array.isArray(v) || v.length > max) return refuse(where, `a list of ≤ ${max} items`, v);
    return v.map((item, i) => check(item, `${where}[${i}]`));
  };
}

/** Anything JSON, kept as it is (reserved fields whose content nothing reads). */
export const opaque: Check<unknown> = (v) => v;

/** A JSON object (not null, not a list). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An object with the `required` fields and, when present (not undefined), the `optional` ones.
 * Fields not named are dropped.
 */
export function obj<R extends Shape, O extends Shape = Record<never, never>>(
  required: R,
  optional?: O,
): Check<Out<R> & Partial<Out<O>>> {
  // The fields listed once, not per value checked (the target checks several objects per op).
  const req = Object.entries(required);
  const opt = Object.entries(optional ?? {});
  return (v, where) => {
    if (!isObject(v)) return refuse(where, 'an object', v);
    const out: Record<string, unknown> = {};
    for (const [k, check] of req) out[k] = check(v[k], `${where}.${k}`);
    for (const [k, check] of opt) if (v[k] !== undefined) out[k] = check(v[k], `${where}.${k}`);
    return out as Out<R> & Partial<Out<O>>;
  };
}
