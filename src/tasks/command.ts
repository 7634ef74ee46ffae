// Which programs a target may run as tasks: bare names, found directly in the tasks folder.
import { promises as fsp, constants as C } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { untrustedReason } from './trust.js';

/** Longest task command name accepted, in UTF-8 bytes (a common file-name limit). */
export const MAX_TASK_COMMAND_BYTES = 255;

/** Extensions a Windows target treats as runnable (Windows has no execute bit). */
export const WINDOWS_TASK_EXTENSIONS: readonly string[] = ['.exe', '.com', '.cmd', '.bat', '.ps1'];

const BARE_NAME_HINT =
  "give the bare file name of a program in the target's --tasks-dir, like snapshot-copy.sh";

/** Why `command` is not a bare program name, or undefined when it is one. */
function bareNameProblem(command: string): string | undefined {
  if (command.length === 0) return 'task command is empty';
  if (command.includes('\0')) return 'task command contains a NUL character';
  if (command === '.' || command === '..') return `task command "${command}" is not a program name`;
  if (command.includes('/') || command.includes('\\')) {
    return `task command "${command}" contains a path separator`;
  }
  // On Windows "C:prog" is a drive-relative path, not a bare name.
  if (process.platform === 'win32' && command.includes(':')) {
    return `task command "${command}" contains ":"`;
  }
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_TASK_COMMAND_BYTES) {
    return `task command is ${bytes} bytes long, more than ${MAX_TASK_COMMAND_BYTES}`;
  }
  return undefined;
}

/** Checks that `command` is a bare program name; throws SmrError('usage') saying why not. */
export function validateTaskCommand(command: string): void {
  const problem = bareNameProblem(command);
  if (problem !== undefined) throw new SmrError('usage', problem, BARE_NAME_HINT);
}

function rejected(command: string, reason: string, hint?: string): SmrError {
  return new SmrError('task-failed', `task "${command}" rejected: ${reason}`, hint);
}

/** True when the file may be executed by this process (execute bit, or extension on Windows). */
async function isRunnable(file: string): Promise<boolean> {
  if (process.platform === 'win32') {
    return WINDOWS_TASK_EXTENSIONS.includes(path.extname(file).toLowerCase());
  }
  try {
    await fsp.access(file, C.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the task program `command` directly in `tasksDir` and returns its absolute path.
 * Refuses (SmrError 'task-failed', "rejected") anything that is not a bare name, is missing,
 * is a symlink (it could point outside the folder), is not a regular file, is owned by someone
 * other than root or the daemon's user or writable by group or others, or is not executable.
 */
export async function resolveTaskProgram(tasksDir: string, command: string): Promise<string> {
  const problem = bareNameProblem(command);
  if (problem !== undefined) throw rejected(command, problem, BARE_NAME_HINT);
  const dir = path.resolve(tasksDir);
  const file = path.join(dir, command);
  // Defence in depth: the bare-name check above should make this impossible.
  if (path.dirname(file) !== dir) throw rejected(command, 'not directly in the tasks folder');
  let st;
  try {
    st = await fsp.lstat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw rejected(
        command,
        `no such program in the tasks folder ${dir}`,
        'copy it there and make it executable',
      );
    }
    throw rejected(command, `cannot read ${file}: ${code ?? String(err)}`);
  }
  if (st.isSymbolicLink()) {
    throw rejected(
      command,
      `${file} is a symbolic link`,
      'put the program itself in the tasks folder, not a link',
    );
  }
  if (!st.isFile()) throw rejected(command, `${file} is not a regular file`);
  const untrusted = untrustedReason(st, file);
  if (untrusted) {
    throw rejected(command, untrusted, `run: chown root ${file} && chmod go-w ${file}`);
  }
  if (!(await isRunnable(file))) {
    const hint =
      process.platform === 'win32'
        ? `name it with one of ${WINDOWS_TASK_EXTENSIONS.join(' ')}`
        : `run: chmod +x ${file}`;
    throw rejected(command, `${file} is not executable`, hint);
  }
  return file;
}
