// Hostile values: odd JSON a decoder must refuse, and values it must accept that the target must
// still handle safely (paths that try to leave the replica, sizes at the file system's limits,
// link targets outside, program names with paths).
import type { Rng } from '../lib/rng.js';

/** JSON values of the wrong type or range for nearly any field. */
export const ODD: readonly unknown[] = [
  -1,
  -0,
  0.5,
  1.5,
  2 ** 53,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  2 ** 64,
  1e-7,
  null,
  true,
  false,
  '',
  '1',
  'x',
  [],
  {},
  [1, 2],
  { a: 1 },
  '\u0000',
  '\ud800',
  'x'.repeat(70_000),
  [[[[[[[[[[[]]]]]]]]]]],
];

/**
 * Integers a decoder accepts as offsets and sizes: small, block edges, and the file system's
 * limits (2^44 is past ext4's largest file, 2^53 - 1 past any). Sparse sizes stop at 256 MiB: the
 * target hashes whole files (a checksum request, a proven delta), and a keyed source asking it to
 * hash a 1 TiB sparse file costs what a real 1 TiB file costs — time, not a fault.
 */
export const EXTENTS: readonly number[] = [
  0,
  1,
  7,
  4095,
  4096,
  4097,
  65_536,
  1 << 20,
  (1 << 20) + 1,
  1 << 24,
  1 << 28,
  2 ** 44,
  2 ** 53 - 1,
];

/** Paths that are plain and stay inside a replica (the harness plants some of these as links). */
export const PLAIN_PATHS: readonly string[] = [
  'a',
  'b.txt',
  'c.bin',
  'd',
  'd/e',
  'd/f',
  'd/f/g',
  'd/f/g/h.txt',
  'e',
  'e/x',
  'lnk', // planted: a link to a directory outside the root
  'up', // planted: a link to ../..
  'vdir', // planted: a link to the victim directory
  'vfile', // planted: a link to a victim file
  'rootlink', // planted: a link to /
  'wire-link',
  'z/'.repeat(40) + 'deep',
  'ünï/cödé',
  'sp ace/ta\tb',
];

/** Paths a decoder lets through (well formed) that the target must refuse or keep inside. */
export const ESCAPES: readonly string[] = [
  '..',
  '../x',
  '../../outside/pwn',
  '../../../outside/pwn',
  'a/../../outside/pwn',
  'd/../../../victim/keep.txt',
  '/tmp/smr-fuzz-pwn',
  '/',
  '.',
  './a',
  'a/.',
  'a//b',
  'a/',
  '//a',
  '\\..\\x',
  'C:\\pwn',
  'C:/pwn',
  'lnk/pwn',
  'lnk/sub/pwn',
  'up/outside/pwn',
  'up/victim/keep.txt',
  'vdir/keep.txt',
  'vdir/new',
  'rootlink/tmp/smr-fuzz-pwn',
  'wire-link/pwn',
  'wire-link/d/pwn',
  'n'.repeat(256),
  'é'.repeat(128),
  'a/'.repeat(2047) + 'b', // 4096 bytes: the longest path the decoder lets through
  '.smr-tmp-00000000-1',
  'a\nb',
  '...',
  ' ',
  '-rf',
  '*',
  '~',
  '$HOME',
];

/** Link targets a source may ask for: stored as text, never followed. */
export const LINK_TARGETS: readonly string[] = [
  '/',
  '/etc',
  '/tmp',
  '..',
  '../..',
  '../../outside',
  'a',
  'd/e',
  'x'.repeat(4000),
  '',
];

/** Program names a task marker may name (only a bare name in --tasks-dir may ever run). */
export const COMMANDS: readonly string[] = [
  'ok',
  'ok ',
  './ok',
  '../ok',
  'ok/..',
  '/bin/sh',
  'sh',
  '/usr/bin/touch',
  'ok; touch /tmp/smr-fuzz-pwn',
  '$(touch /tmp/smr-fuzz-pwn)',
  '',
  '.',
  '..',
  'missing',
];

/** A replica-relative path: mostly plain, often an escape attempt. */
export function path(rng: Rng): string {
  return rng.chance(0.55) ? rng.pick(PLAIN_PATHS) : rng.pick(ESCAPES);
}

/** An extent (offset or size). */
export function extent(rng: Rng): number {
  return rng.chance(0.7) ? rng.int(70_000) : rng.pick(EXTENTS);
}

/** A mode: plain, or with setuid/setgid/sticky and every permission. */
export function mode(rng: Rng): number {
  return rng.pick([0o644, 0o600, 0o755, 0o777, 0o7777, 0o4755, 0o2777, 0o1777, 0, 0o4000]);
}

/** An mtime in ms: now, the epoch, the far past and future a Date can hold. */
export function mtime(rng: Rng): number {
  return rng.pick([Date.now(), 0, 1.5, -1, 8.64e15, -8.64e15, 1e12 + 0.123456, 253402300799999]);
}

/** A hex sha256 (rarely the right one for anything). */
export function sha(rng: Rng): string {
  return rng.chance(0.5)
    ? 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    : rng.bytes(32).toString('hex');
}

/** Replaces one value somewhere inside `v` (a copy) with an odd one, or drops a field. */
export function mutateJson(v: unknown, rng: Rng): unknown {
  if (Array.isArray(v) || (typeof v === 'object' && v !== null)) {
    const copy: Record<string, unknown> = Array.isArray(v) ? { ...v } : { ...(v as object) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || rng.chance(0.1)) return rng.pick(ODD);
    const k = rng.pick(keys);
    if (rng.chance(0.1)) delete copy[k];
    else copy[k] = mutateJson(copy[k], rng);
    return Array.isArray(v) ? Object.values(copy) : copy;
  }
  return rng.pick(ODD);
}

/** Damages raw bytes: flipped bits, changed or inserted or removed bytes, a cut, odd lengths. */
export function mutateBytes(b: Buffer, rng: Rng): Buffer {
  let out = Buffer.from(b);
  for (let n = rng.range(1, 4); n > 0; n--) {
    const at = out.length ? rng.int(out.length) : 0;
    switch (rng.int(8)) {
      case 0:
        if (out.length) out[at] = (out[at] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        if (out.length) out[at] = rng.int(256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), rng.bytes(rng.range(1, 16)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + rng.range(1, 16))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5: // the length prefix
        if (out.length >= 4)
          out.writeUInt32BE(
            rng.pick([
              0,
              1,
              4,
              5,
              9,
              0xffffffff,
              Math.max(0, out.length - 5),
              out.length + 1,
              rng.int(2 ** 32),
            ]),
            0,
          );
        break;
      case 6: // the type byte
        if (out.length >= 5)
          out[4] = rng.pick([0, 1, 12, 22, 0x7f, 0x80, 0x8c, 0xff, rng.int(256)]);
        break;
      default: // the header length
        if (out.length >= 9)
          out.writeUInt32BE(rng.pick([0, 1, 0xffffffff, out.length, rng.int(2 ** 20)]), 5);
    }
  }
  return out;
}
