// The `files` op: several small whole files in one journal record and one frame (issue 13: a
// small-file mirror paid a record, a frame, a JSON header and an applier step per file). On the
// wire each file is a tuple, [path, size, mode, mtime, attrs?]; the body holds their bytes in
// order. The target writes each through its own temp file and rename, as a whole `put`.
import { int, isObject, mode, mtime, refuse, relPath, type Check } from './check.js';
import { wireAttrs, type WireAttrs } from './attrs.js';

/** Files one `files` op may carry. */
export const MAX_BATCH_FILES = 1024;
/** Largest file a `files` op carries (bigger ones go as `put` parts). */
export const MAX_BATCH_FILE_BYTES = 64 * 1024;

/** One file of a `files` op, as named fields. */
export interface SmallFile {
  p: string;
  size: number;
  mode: number;
  mtime: number;
  /** Owner, ns mtime, xattrs, ACLs (protocol/attrs.ts), set after the mode. */
  a?: WireAttrs;
}

/** A `files` op's meta as the target applies it. */
export type FilesMeta = { files: SmallFile[] };

/** One file on the wire: [path, size, mode, mtime] plus its attributes when carried. */
export type WireFile =
  [string, number, number, number] | [string, number, number, number, WireAttrs];

/** A `files` op's meta as the source queues it. */
export type WireFilesMeta = { f: WireFile[] };

/** The wire tuple of one file. */
export function wireFile(f: SmallFile): WireFile {
  return f.a ? [f.p, f.size, f.mode, f.mtime, f.a] : [f.p, f.size, f.mode, f.mtime];
}

const file: Check<SmallFile> = (v, where) => {
  if (!Array.isArray(v) || (v.length !== 4 && v.length !== 5))
    return refuse(where, '[path, size, mode, mtime, attrs?]', v);
  const out: SmallFile = {
    p: relPath(v[0], `${where}[0]`),
    size: int(0, MAX_BATCH_FILE_BYTES)(v[1], `${where}[1]`),
    mode: mode(v[2], `${where}[2]`),
    mtime: mtime(v[3], `${where}[3]`),
  };
  if (v.length === 5) out.a = wireAttrs(v[4], `${where}[4]`);
  return out;
};

/** Checks a `files` meta: at most MAX_BATCH_FILES tuples. */
export const filesMeta: Check<FilesMeta> = (v, where) => {
  if (!isObject(v) || !Array.isArray(v.f) || v.f.length === 0 || v.f.length > MAX_BATCH_FILES)
    return refuse(`${where}.f`, `a list of 1..${MAX_BATCH_FILES} files`, isObject(v) ? v.f : v);
  return { files: v.f.map((x, i) => file(x, `${where}.f[${i}]`)) };
};

/** Body bytes a `files` op carries: exactly the sum of its sizes. */
export function filesBytes(meta: FilesMeta): number {
  return meta.files.reduce((n, f) => n + f.size, 0);
}
