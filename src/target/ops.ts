// Applying one operation to the replica. Every function is idempotent when replayed after a crash
// (see the replay rules in docs/ARCHITECTURE.md); none follows a symlink.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  promises as fsp,
  constants as C,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import type { Confiner } from './confine.js';
import { tempNameFor } from './temp-files.js';
import { applyAttrsSync } from './apply-attrs.js';
import { newDirSync, putSmallSync } from './small-put.js';
import type { NewFiles } from './new-files.js';
import { SparseWriter } from '../fsmeta/index.js';
import { sha256File } from '../delta/hash.js';
import type { FileEnd, Op, PutMeta, WriteMeta } from '../protocol/ops.js';
import { fsPath } from '../fsmeta/index.js';

/** The meta of one kind of op. */
type MetaOf<K extends Op['kind']> = Extract<Op, { kind: K }>['meta'];

/** What an op asks of the applier besides its effect on disk. */
export interface OpOutcome {
  /** Paths whose data or entries changed and must be fsynced before the next ack. */
  touched: string[];
  /** A path the source must resend whole because the replica had no valid basis for it. */
  need?: string;
  /** The op may have changed directory structure (cached confinement proofs are void). */
  structural?: boolean;
}

/** True when `err` is a system error with one of these codes. */
export function isErr(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

async function lstatOrNull(p: string) {
  try {
    return await fsp.lstat(fsPath(p));
  } catch (err) {
    if (isErr(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

/** Removes whatever is at `abs` (file, link, or whole directory tree), without following links. */
export async function removeAny(abs: string): Promise<void> {
  await fsp.rm(fsPath(abs), { recursive: true, force: true });
}

/** The mode an op asks for, after the target's setuid/setgid rule (mode-policy.ts). */
function modeOf(
  cf: Confiner,
  meta: { p: string; mode?: number },
  isDir = false,
): number | undefined {
  return meta.mode === undefined ? undefined : cf.modes.apply(meta.p, meta.mode, isDir);
}

/** Sets the mode and mtime an op's last part carries. */
export async function setAttrs(
  cf: Confiner,
  fh: fsp.FileHandle,
  meta: FileEnd & { p: string },
): Promise<void> {
  const mode = modeOf(cf, meta);
  if (mode !== undefined) await fh.chmod(mode);
  if (meta.mtime !== undefined) await fh.utimes(meta.mtime / 1000, meta.mtime / 1000);
}

/**
 * Owner, xattrs, ACLs and the ns mtime a file's last part carries, set on `file` (its temp file
 * before the rename, or the file itself), after setAttrs' mode and ms mtime.
 */
export function endAttrs(cf: Confiner, file: string, meta: FileEnd & { p: string }): void {
  if (meta.a) applyAttrsSync(cf, file, meta.p, meta.a, meta.mode);
}

/**
 * One part of a whole-file transfer: temp file at tx, renamed over the path by the last part.
 * `newFiles`: what new files get by themselves, kept by the `files` op this put is part of.
 */
export async function applyPut(
  cf: Confiner,
  seq: number,
  meta: PutMeta,
  body: Buffer,
  newFiles?: NewFiles,
): Promise<OpOutcome> {
  // Answered at once where the confiner's proofs and temp lists allow (most files of a mirror).
  const proven = cf.resolveProven(meta.p);
  const abs = proven ?? (await cf.resolve(meta.p));
  if (proven === undefined) await cf.ensureParent(abs);
  const tmp = tempNameFor(abs, meta.first ? seq : (meta.tx ?? 0));
  if (meta.first && !cf.temps.clearNone(abs, tmp)) await cf.temps.clear(abs, tmp);
  if (meta.first && meta.end && body.length <= SMALL_PUT_BYTES) {
    const replaced = putSmallSync({
      tmp,
      abs,
      body,
      size: meta.size ?? 0,
      mode: modeOf(cf, meta),
      mtime: meta.mtime,
      a: meta.a,
      attrs: (t) => endAttrs(cf, t, meta),
      newFiles,
    });
    cf.temps.done(tmp);
    return { touched: [abs, path.dirname(abs)], structural: replaced };
  }
  let fh: fsp.FileHandle;
  try {
    const flags = meta.first
      ? C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW
      : C.O_WRONLY | C.O_NOFOLLOW;
    fh = await fsp.open(fsPath(tmp), flags, 0o600);
  } catch (err) {
    // A later part whose temp file is gone (target restarted and lost it): ask for the file again.
    if (isErr(err, 'ENOENT')) return { touched: [], need: meta.p };
    throw err;
  }
  try {
    // Zero blocks are left as holes (rsync -S): a new temp file reads zeros there.
    if (body.length) await new SparseWriter(fh).write(body, meta.off ?? 0);
    if (meta.end) {
      await fh.truncate(meta.size ?? 0);
      await setAttrs(cf, fh, meta);
    }
  } finally {
    await fh.close();
  }
  if (!meta.end) return { touched: [tmp] };
  endAttrs(cf, tmp, meta);
  const st = await lstatOrNull(abs);
  if (st?.isDirectory()) await removeAny(abs);
  await fsp.rename(fsPath(tmp), fsPath(abs));
  cf.temps.done(tmp);
  return { touched: [abs, path.dirname(abs)], structural: Boolean(st?.isDirectory()) };
}

/**
 * Whole files up to this size land through synchronous calls (small-put.ts): each takes
 * microseconds against the page cache, where the same calls through the thread pool cost a round
 * trip each (in a mirror of 10,000 small files that waiting was the target's largest cost).
 */
const SMALL_PUT_BYTES = 256 * 1024;

/** Changed blocks written in place; the last record sets size, mode and mtime. */
export async function applyWrite(cf: Confiner, meta: WriteMeta, body: Buffer): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(fsPath(abs), C.O_WRONLY | C.O_NOFOLLOW);
  } catch (err) {
    // No basis to patch (missing, a link, a directory): never guess, get the whole file.
    if (isErr(err, 'ENOENT', 'ELOOP', 'EISDIR', 'ENOTDIR', 'EMLINK'))
      return { touched: [], need: meta.p };
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { touched: [], need: meta.p };
    // In place: zero blocks are punched out, not written (the old data there must go).
    const w = new SparseWriter(fh, { inPlace: true });
    let pos = 0;
    for (const r of meta.ranges) {
      await w.write(body.subarray(pos, pos + r.length), r.offset);
      pos += r.length;
    }
    if (meta.end) {
      await fh.truncate(meta.size ?? 0);
      await setAttrs(cf, fh, meta);
    }
  } finally {
    await fh.close();
  }
  // Mirror writes carry the source's whole-file hash: a copy that was not the assumed basis is
  // never left wrong, the source sends it whole.
  if (meta.end && meta.sha256 !== undefined && (await sha256File(abs)) !== meta.sha256) {
    return { touched: [abs], need: meta.p };
  }
  if (meta.end) endAttrs(cf, abs, meta);
  return { touched: [abs] };
}

/**
 * mkdir (with parents); a non-directory in the way is replaced. Synchronous calls (a mirror
 * creates every directory of the tree; each call through the thread pool cost a round trip),
 * and the directory made or found is known to the confiner as real and free of temp files, so
 * its files' puts look at it no further.
 */
export async function applyMkdir(cf: Confiner, meta: MetaOf<'mkdir'>): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  await cf.ensureParent(abs);
  const attrs = (dir: string): void => applyAttrsSync(cf, dir, meta.p, meta.a ?? {}, meta.mode);
  if (newDirSync(abs, modeOf(cf, meta, true), meta.a, attrs)) {
    cf.madeDir(abs, true);
    return { touched: [path.dirname(abs)], structural: false };
  }
  const st = lstatSyncOrNull(abs);
  if (st && !st.isDirectory()) await removeAny(abs);
  const made = !st?.isDirectory();
  if (made) mkdirSync(fsPath(abs));
  // applyAttrsSync sets the mode itself (after the owner, which may clear setgid).
  const mode = meta.a ? undefined : modeOf(cf, meta, true);
  if (mode !== undefined) chmodSync(fsPath(abs), mode);
  if (meta.a) applyAttrsSync(cf, abs, meta.p, meta.a, meta.mode);
  cf.madeDir(abs, made);
  return { touched: [path.dirname(abs)], structural: Boolean(st && !st.isDirectory()) };
}

function lstatSyncOrNull(p: string): Stats | null {
  try {
    return lstatSync(fsPath(p));
  } catch (err) {
    if (isErr(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

/** Deletes a file, link or directory tree; absent is fine (replay). */
export async function applyDelete(cf: Confiner, meta: { p: string }): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  await removeAny(abs);
  await cf.temps.clear(abs);
  return { touched: [path.dirname(abs)], structural: true };
}

/** rename(from, to). Replayed after it was already done (from gone, to present) it does nothing. */
export async function applyRename(cf: Confiner, meta: MetaOf<'rename'>): Promise<OpOutcome> {
  const from = await cf.resolve(meta.from);
  const to = await cf.resolve(meta.to);
  const fromSt = await lstatOrNull(from);
  if (!fromSt) {
    const toSt = await lstatOrNull(to);
    return toSt ? { touched: [] } : { touched: [], need: meta.to };
  }
  await cf.ensureParent(to);
  const toSt = await lstatOrNull(to);
  if (toSt && (toSt.isDirectory() !== fromSt.isDirectory() || toSt.isDirectory())) {
    // rename(2) cannot replace a non-empty directory or change type; the source's result is `from`.
    await removeAny(to);
  }
  await fsp.rename(fsPath(from), fsPath(to));
  return { touched: [path.dirname(from), path.dirname(to)], structural: true };
}

/** Mode and mtime changes; a missing path means the replica diverged, so ask for it. */
export async function applyAttr(cf: Confiner, meta: MetaOf<'attr'>): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  const st = await lstatOrNull(abs);
  if (!st) return { touched: [], need: meta.p };
  if (meta.a) {
    // Everything in one place, in fsmeta's order (directories' ns mtimes included).
    applyAttrsSync(cf, abs, meta.p, { ...meta.a, ns: meta.a.ns ?? nsOf(meta.mtime) }, meta.mode);
    // A fifo or device is never opened to fsync it (a fifo's open blocks): its directory is.
    return { touched: [st.isFile() || st.isDirectory() ? abs : path.dirname(abs)] };
  }
  if (st.isSymbolicLink()) {
    if (meta.mtime !== undefined)
      await fsp.lutimes(fsPath(abs), meta.mtime / 1000, meta.mtime / 1000);
    return { touched: [abs] };
  }
  const mode = modeOf(cf, meta, st.isDirectory());
  if (mode !== undefined) await fsp.chmod(fsPath(abs), mode);
  if (meta.mtime !== undefined && !st.isDirectory())
    await fsp.utimes(fsPath(abs), meta.mtime / 1000, meta.mtime / 1000);
  return { touched: [abs] };
}

/** Creates (or replaces) a symlink; its target text is stored as is and never followed. */
export async function applySymlink(cf: Confiner, meta: MetaOf<'symlink'>): Promise<OpOutcome> {
  const abs = await cf.resolve(meta.p);
  // No file system holds a link to nothing: no source has one, and symlink(2) would fail forever.
  if (meta.target === '')
    throw new SmrError('path-refused', `refusing "${meta.p}": a symlink with an empty target`);
  await cf.ensureParent(abs);
  if (await lstatOrNull(abs)) await removeAny(abs);
  await fsp.symlink(fsPath(meta.target), fsPath(abs));
  if (meta.mtime !== undefined)
    await fsp.lutimes(fsPath(abs), meta.mtime / 1000, meta.mtime / 1000).catch(() => undefined);
  if (meta.a) applyAttrsSync(cf, abs, meta.p, meta.a, undefined);
  return { touched: [path.dirname(abs)], structural: true };
}

/** A ms mtime as ns digits (an old source's attr op), or undefined. */
function nsOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : String(BigInt(Math.round(ms * 1e6)));
}
