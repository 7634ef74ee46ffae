// Small durable-file helpers shared by source and target state.
import {
  lstatSync,
  readlinkSync,
  promises as fsp,
  constants as C,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { fsPath, nameFromBytes } from './name-bytes.js';

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
    fh = await fsp.open(fsPath(dir), C.O_RDONLY);
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
export async function exists(p: string | Buffer): Promise<boolean> {
  try {
    await fsp.lstat(fsPath(p));
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
export function lstatOrNull(p: string | Buffer): Stats | null {
  try {
    return lstatSync(fsPath(p));
  } catch {
    return null;
  }
}

/** lstatOrNull with nanosecond times (`bigint: true`): one stat for an entry and its stamp. */
export function lstatBigOrNull(p: string | Buffer): BigIntStats | null {
  try {
    return lstatSync(fsPath(p), { bigint: true });
  } catch {
    return null;
  }
}

/** A directory's names; a byte that is not UTF-8 stays an escape (shared/name-bytes.ts), not U+FFFD. */
export async function readdirNames(dir: string | Buffer): Promise<string[]> {
  const raw = await fsp.readdir(fsPath(dir), { encoding: 'buffer' });
  return raw.map(nameFromBytes);
}

/** A symlink's target, its bytes kept as readdirNames keeps a name's. */
export async function readlinkName(p: string | Buffer): Promise<string> {
  return nameFromBytes(await fsp.readlink(fsPath(p), { encoding: 'buffer' }));
}

/** readlinkName, synchronously. */
export function readlinkNameSync(p: string | Buffer): string {
  return nameFromBytes(readlinkSync(fsPath(p), { encoding: 'buffer' }));
}

/** A relative path made only of names: no empty, `.` or `..` part (path.join would change it). */
const PLAIN_REL = /^(?!\.\.?(?:\/|$))(?:[^/]+\/(?!\.\.?(?:\/|$)))*[^/]+$/;

/**
 * `path.join(base, rel)` for a '/'-separated relative path: a concatenation when `rel` is made of
 * plain names (path.join's split, join and normalisation per file cost about as much as its
 * lstat in a full mirror's reads), path.join itself otherwise.
 */
export function joinRel(base: string, rel: string): string {
  if (!PLAIN_REL.test(rel)) return path.join(base, ...rel.split('/'));
  if (base !== lastBase) {
    const root = path.normalize(base);
    [lastBase, lastPrefix] = [base, root.endsWith('/') ? root : `${root}/`];
  }
  return lastPrefix + rel;
}

// The last base joinRel() normalised (a process has one or a few roots).
let lastBase = '';
let lastPrefix = '';
