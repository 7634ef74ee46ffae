// A whole small file landed with the fewest system calls (issue 13: a full mirror of many small
// files was bound by the target's per-file calls). The general way sets attributes on the temp
// file through applyAttrsSync: three lstats, an llistxattr, a chmod and a utimensat by path, then
// one more lstat to see whether a directory stands at the destination. A new temp file needs
// none of the reads: as root, its owner, mode and mtime are set on the descriptor in fsmeta's
// order (owner, then mode, then mtime), and the only thing left to learn is whether it picked up
// xattrs (a default ACL of its directory, a security label). Anything unusual goes the general way.
import {
  closeSync,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
  constants as C,
} from 'node:fs';
import { fsPath, futimensMtime, hasXattrsFd } from '../fsmeta/index.js';
import type { WireAttrs } from '../protocol/attrs.js';

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
  const fd = openSync(fsPath(f.tmp), C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, 0o600);
  try {
    const { body } = f;
    for (let off = 0; off < body.length;) off += writeSync(fd, body, off, body.length - off, off);
    if (f.size !== body.length) ftruncateSync(fd, f.size);
    // chown clears setuid/setgid: it goes before the chmod.
    if (fast && f.a?.uid !== undefined) fchownSync(fd, f.a.uid, f.a.gid ?? -1);
    if (f.mode !== undefined) fchmodSync(fd, f.mode);
    // A temp file left by an earlier attempt, or one that inherited xattrs: the general way, by
    // path after the close (it sets the ns mtime itself). The question is put to the descriptor:
    // by path it was a path walk and a name list read per file.
    const wantsList = f.a !== undefined && (f.a.x !== undefined || f.a.acl !== undefined);
    if (fast && wantsList && hasXattrsFd(fd)) general = true;
    // The mtime last, on the descriptor too (the ns one by path was 7% of a target's mirror).
    if (!general && fast && f.a?.ns !== undefined) futimensMtime(fd, BigInt(f.a.ns));
    else if (f.mtime !== undefined && !(fast && f.a?.ns !== undefined))
      futimesSync(fd, f.mtime / 1000, f.mtime / 1000);
  } finally {
    closeSync(fd);
  }
  if (general) f.attrs(f.tmp);
  return renameOver(f.tmp, f.abs);
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
