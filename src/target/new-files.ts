// What a file the target creates gets by itself in a directory, learned once per directory while
// one `files` op is applied, so its small files' chown and chmod can be left out where they would
// change nothing (issue 13: they were two of a new file's ten system calls; rsync compares too).
// Nothing is assumed: the owner is read from the first file created there, the mode rule from the
// process's umask and the directory's own xattrs. A `files` op only creates files, so nothing it
// does changes a directory's owner, mode, default ACL or mount while the op is applied.
import { fstatSync, readFileSync } from 'node:fs';
import { fsPath, listXattrNames } from '../fsmeta/index.js';

/** The owner and the mode rule of new files, per directory, for one `files` op. */
export class NewFiles {
  private readonly owners = new Map<string, { uid: number; gid: number }>();
  private readonly plain = new Map<string, boolean>();
  /** Per directory: whether the first file this op created there came with no xattr at all. */
  private readonly bare = new Map<string, boolean>();
  private mask: number | null | undefined;

  /**
   * The mode to create a file with in `dir` so that it gets `mode` exactly, or undefined: only
   * permission bits (open(2) and chown(2) treat setuid, setgid and sticky bits apart), none of
   * them in the umask, and a directory without a default ACL (which would take the umask's
   * place, without leaving an xattr on the file when it is a minimal one). A directory with any
   * xattr at all, or one whose names cannot be read, is not looked into further.
   */
  createMode(dir: string, mode: number | undefined): number | undefined {
    if (mode === undefined || (mode & ~0o777) !== 0) return undefined;
    const mask = (this.mask ??= umask());
    if (mask === null || (mode & mask) !== 0) return undefined;
    let plain = this.plain.get(dir);
    if (plain === undefined) {
      try {
        plain = listXattrNames(fsPath(dir)).length === 0;
      } catch {
        plain = false;
      }
      this.plain.set(dir, plain);
    }
    return plain ? mode : undefined;
  }

  /**
   * What a file just created as `fd` in `dir` with createMode()'s `made` (undefined: 0600) still
   * needs: a chown unless it is owned by `uid` (and `gid`, unless -1) already, a chmod unless it
   * was made with its mode. The first file created in a directory is looked at (fstat): the owner
   * it got (the process's ids, the directory's group where it is setgid or the mount says so, ids
   * a file system squashes or maps) is the owner of the files after it; a mode it did not get as
   * made with (a file system with modes of its own) sends the directory's later files the way
   * with a chmod.
   */
  needs(dir: string, fd: number, made: number | undefined, uid: number, gid: number): Needs {
    let got = this.owners.get(dir);
    if (!got) {
      const st = fstatSync(fd);
      got = { uid: st.uid, gid: st.gid };
      this.owners.set(dir, got);
      if (made !== undefined && (st.mode & 0o7777) !== made) {
        this.plain.set(dir, false);
        made = undefined;
      }
    }
    const chown = got.uid !== uid || (gid !== -1 && got.gid !== gid);
    return { chown, chmod: made === undefined };
  }

  /**
   * Whether a file this op just created in `dir` came with xattrs of its own (a default ACL of
   * the directory, a security label), asked of its descriptor only for the first one made
   * there: what a new file inherits is the directory's to give, and nothing the op does
   * changes it, so the first one with none answers for the rest (flistxattr(2) per file was a
   * system call in eight of the target's full mirror). Where the first came with some, each
   * file after it is asked too.
   */
  inherits(dir: string, fd: number, has: (fd: number) => boolean): boolean {
    const bare = this.bare.get(dir);
    if (bare === true) return false;
    const got = has(fd);
    if (bare === undefined) this.bare.set(dir, !got);
    return got;
  }
}

/** The calls a new file still needs. */
export interface Needs {
  chown: boolean;
  chmod: boolean;
}

/** The process's umask, read without setting it (process.umask() sets it twice), or null. */
export function umask(): number | null {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return m ? parseInt(m[1] as string, 8) : null;
  } catch {
    return null;
  }
}
