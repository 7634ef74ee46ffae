// Small durable-file helpers shared by source and target state.
import { lstatSync, promises as fsp, constants as C, type Stats } from 'node:fs';
import path from 'node:path';

let tmpSeq = 0;

/** Writes a file atomically: temp file, fsync, rename, fsync of the directory. */
export async function atomicWriteFile(
  file: string,
  data: string | Buffer,
  mode = 0o600,
): Promise<void> {
  const dir = path.dirname(file);
  // Unique per write: two writes of one file in the same millisecond must not share a temp file.
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now()}.${++tmpSeq}.tmp`,
  );
  const fh = await fsp.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(dir);
}

/** fsyncs a directory so a rename or create inside it survives power loss (no-op where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, C.O_RDONLY);
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the data itself was synced already.
  } finally {
    await fh?.close();
  }
}

/** Reads a JSON file, or returns `fallback` when it does not exist. */
export async function readJsonFile<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw err;
  }
}

/** Writes JSON atomically (see atomicWriteFile). */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await atomicWriteFile(file, JSON.stringify(value, null, 2) + '\n');
}

/** True when the path exists (lstat: symlinks count as existing, never followed). */
export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * lstat, synchronously, or null when the path cannot be stat'ed (gone, or a parent is not a
 * directory). Synchronous on purpose where it is used: an lstat takes microseconds, its
 * thread-pool round trip far longer on a busy host.
 */
export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
