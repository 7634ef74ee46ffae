// Whether a tasks folder and the programs in it can be trusted, checked the way sshd's StrictModes
// checks its files: a task runs with the daemon's rights, so nobody else may be able to put or
// change a program there — not another local user, and above all not a source, whose replicated
// files land under the target's --root.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

/** Uids allowed to own task programs and the folders above them: root and the daemon's user. */
function trustedOwners(): Set<number> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return new Set([0, uid]);
}

/**
 * Why a file or folder with this stat is not safe to trust, or undefined when it is. A sticky
 * folder may be writable by others (as /tmp is): nobody else can rename or replace its entries.
 */
export function untrustedReason(st: Stats, what: string, stickyOk = false): string | undefined {
  if (process.platform === 'win32') return undefined; // no uid/mode bits to check
  if (!trustedOwners().has(st.uid)) {
    return `${what} is owned by uid ${st.uid}, not by root or the user running smr`;
  }
  if (stickyOk && st.mode & STICKY) return undefined;
  if (st.mode & GROUP_OR_OTHER_WRITE) {
    return `${what} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

function insideOrSame(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Throws SmrError('config') unless `tasksDir` is a directory that only root or the daemon's user
 * can change: it and every folder above it owned by them and not writable by group or others (a
 * sticky folder such as /tmp may be writable: nobody else can rename or replace what is in it), and
 * it is neither inside any of `replicaRoots` nor holding one (a source writes there).
 */
export async function checkTasksDir(tasksDir: string, replicaRoots: string[]): Promise<string> {
  const hint = `use a folder such as /etc/smr/tasks owned by root with mode 0755, outside --root`;
  let real: string;
  try {
    real = await fsp.realpath(tasksDir);
  } catch {
    throw new SmrError('config', `tasks folder ${tasksDir} does not exist`, hint);
  }
  if (!(await fsp.stat(real)).isDirectory()) {
    throw new SmrError('config', `tasks folder ${tasksDir} is not a directory`, hint);
  }
  for (const root of replicaRoots) {
    if (insideOrSame(real, root) || insideOrSame(root, real)) {
      throw new SmrError(
        'config',
        `tasks folder ${tasksDir} overlaps the replica root ${root}: a source could write a program into it`,
        hint,
      );
    }
  }
  for (let dir = real; ; dir = path.dirname(dir)) {
    const st = await fsp.stat(dir);
    const reason =
      dir === real
        ? untrustedReason(st, `tasks folder ${dir}`)
        : untrustedReason(st, `folder ${dir} above the tasks folder`, true);
    if (reason) throw new SmrError('config', reason, hint);
    if (path.dirname(dir) === dir) return real;
  }
}
