// A whole small file landed with the fewest system calls (issue 13: a full mirror of many small
// files was bound by the target's per-file calls). The general way sets attributes on the temp
// file through applyAttrsSync: three lstats, an llistxattr, a chmod and a utimensat by path, then
// one more lstat to see whether a directory stands at the destination. A new temp file needs
// none of the reads: as root, its owner, mode and mtime are set on the descriptor in fsmeta's
// order (owner, then mode, then mtime), and the only thing left to learn is whether it picked up
// xattrs (a default ACL of its directory, a security label). Anything unusual goes the general way.
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
  constants as C,
} from 'node:fs';
import {
  fsPath,
  futimensMtimeText,
  hasXattrsFd,
  listXattrNames,
  setMtimeNsSync,
} from '../fsmeta/index.js';
import type { WireAttrs } from '../protocol/attrs.js';
import type { NewFiles, Needs } from './new-files.js';

/** What the fast way needs of one file. */
export interface SmallPut {
  /** The temp file to write and the path it is renamed to. */
  tmp: string;
  abs: string;
  body: Buffer;
  size: number;
  /** Mode after the target's setuid/setgid rule; ms mtime; the carried attributes. */
  mode: number | undefined;
  mtime: number | undefined;
  a: WireAttrs | undefined;
  /** The general way of setting `a` on the temp file (applyAttrsSync: reads, sets, counts refusals). */
  attrs: (tmp: string) => void;
  /** What new files get in each directory, learned while one `files` op is applied. */
  newFiles?: NewFiles;
}

// Asked once: geteuid(2) per file was ~1% of a target's full mirror (0.9% of its samples at
// 100k files), and a daemon never changes it.
let root = process.geteuid?.() === 0;

/** Asks geteuid(2) again: for a process that changed its effective uid (tests do). */
export function euidChanged(): void {
  root = process.geteuid?.() === 0;
}

// Whether the descriptor-based way sets everything `a` asks: as root (no refusals, chmod keeps
// setgid) and no xattrs or ACLs to write (a plain file of a `files` op, or a put without them).
function direct(a: WireAttrs | undefined): boolean {
  return root && (a === undefined || (!a.x?.length && a.acl?.a === undefined && !a.acl?.d));
}

/**
 * Writes the temp file, sets its attributes, renames it over `abs`. Returns true when a
 * directory stood at `abs` and was replaced.
 */
export function putSmallSync(f: SmallPut): boolean {
  const fast = direct(f.a);
  let general = !fast && f.a !== undefined;
  // A new root-owned file may be made with its mode, and need neither chown nor chmod (new-files.ts).
  const uid = f.a?.uid;
  const gid = f.a?.gid ?? -1;
  const known = fast && uid === ROOT ? f.newFiles : undefined;
  const dir = known ? dirOf(f.tmp) : '';
  const made = known?.createMode(dir, f.mode);
  const { fd, created } = openTemp(f.tmp, made);
  try {
    const { body } = f;
    for (let off = 0; off < body.length;) off += writeSync(fd, body, off, body.length - off, off);
    if (f.size !== body.length) ftruncateSync(fd, f.size);
    const needs = created && known ? known.needs(dir, fd, made, uid as number, gid) : ALL;
    // chown clears setuid/setgid: it goes before the chmod.
    if (fast && uid !== undefined && needs.chown) fchownSync(fd, uid, gid);
    if (f.mode !== undefined && needs.chmod) fchmodSync(fd, f.mode);
    // A temp file left by an earlier attempt, or one that inherited xattrs: the general way, by
    // path after the close (it sets the ns mtime itself). The question is put to the descriptor:
    // by path it was a path walk and a name list read per file.
    const wantsList = f.a !== undefined && (f.a.x !== undefined || f.a.acl !== undefined);
    if (fast && wantsList && pickedUp(f, fd, created)) general = true;
    // The mtime last, on the descriptor too (the ns one by path was 7% of a target's mirror).
    if (!general && fast && f.a?.ns !== undefined) futimensMtimeText(fd, f.a.ns);
    else if (f.mtime !== undefined && !(fast && f.a?.ns !== undefined))
      futimesSync(fd, f.mtime / 1000, f.mtime / 1000);
  } finally {
    closeSync(fd);
  }
  if (general) f.attrs(f.tmp);
  return renameOver(f.tmp, f.abs);
}

// Whether the new temp file has xattrs it was not sent: a file this op created is asked through
// its NewFiles (the first in a directory answers for the rest), any other of its descriptor.
function pickedUp(f: SmallPut, fd: number, created: boolean): boolean {
  if (!created || !f.newFiles) return hasXattrsFd(fd);
  return f.newFiles.inherits(dirOf(f.tmp), fd, hasXattrsFd);
}

const ROOT = 0;
const ALL: Needs = { chown: true, chmod: true };

// The temp file, made with `mode` (else 0600), and whether this open created it (O_EXCL): one an
// earlier attempt left keeps its owner and mode, so it gets its chown and chmod.
function openTemp(tmp: string, mode = 0o600): { fd: number; created: boolean } {
  const flags = C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW;
  try {
    return { fd: openSync(fsPath(tmp), flags | C.O_EXCL, mode), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { fd: openSync(fsPath(tmp), flags | C.O_TRUNC, 0o600), created: false };
}

function dirOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/'));
}

// rename(2) of a file over a directory fails (EISDIR); only then is the directory removed.
function renameOver(tmp: string, abs: string): boolean {
  try {
    renameSync(fsPath(tmp), fsPath(abs));
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  rmSync(fsPath(abs), { recursive: true, force: true });
  renameSync(fsPath(tmp), fsPath(abs));
  return true;
}

/**
 * A directory made where none stood, its attributes set by path in fsmeta's order (owner, mode,
 * mtime) when the descriptor-based rule holds (as root, no xattrs or ACLs to write): mkdir,
 * lchown, chmod, one name list and utimensat. The general way (applyAttrsSync) first looked for
 * something at the path and then read the new directory's stat twice and its mode once more (a
 * mirror makes every directory of the tree). False, having done nothing: something stands at
 * `abs` already, or the attributes need the general way; true: made, and set unless the new
 * directory inherited xattrs (a default ACL of its parent), which `attrs` then sets.
 */
export function newDirSync(
  abs: string,
  mode: number | undefined,
  a: WireAttrs | undefined,
  attrs: (dir: string) => void,
): boolean {
  if (!direct(a)) return false;
  try {
    mkdirSync(fsPath(abs));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    if (a?.uid !== undefined) lchownSync(fsPath(abs), a.uid, a.gid ?? -1);
  } catch {
    // An owner this system refuses (an id a user namespace does not map): the general way
    // tries again, counts the refusal and sets the rest.
    attrs(abs);
    return true;
  }
  if (mode !== undefined) chmodSync(fsPath(abs), mode);
  const wantsList = a !== undefined && (a.x !== undefined || a.acl !== undefined);
  if (a !== undefined && wantsList && listXattrNames(abs).length) attrs(abs);
  else if (a?.ns !== undefined) setMtimeNsSync(abs, BigInt(a.ns));
  return true;
}
