// The task directory a daemon is given must exist before the daemon starts: a typo in --tasks-dir
// used to start a target that then rejected every task, hours later, at the snapshot.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';

/** Resolves the target's task settings; SmrError('usage') when they cannot work. */
export async function targetTasksDir(
  allowTasks: boolean,
  tasksDir: string | undefined,
): Promise<string | null> {
  if (!tasksDir) {
    if (allowTasks)
      throw new SmrError(
        'usage',
        '--allow-tasks needs --tasks-dir DIR',
        'tasks run only programs found directly in that directory',
      );
    return null;
  }
  return existingDir(tasksDir, '--tasks-dir');
}

/** The absolute path of `dir`, which must be an existing directory. */
export async function existingDir(dir: string, what: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await fsp.stat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st)
    throw new SmrError('usage', `${what} ${abs} does not exist`, `create it: mkdir -p ${abs}`);
  if (!st.isDirectory()) throw new SmrError('usage', `${what} ${abs} is not a directory`);
  return abs;
}
