// Confinement: every path the target touches is a plain relative path below the replica base,
// reached only through real directories (never through a symlink). See docs/ARCHITECTURE.md.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { splitSafeRelPath } from '../protocol/paths.js';
import { TempFiles } from './temp-files.js';
import { ModePolicy } from './mode-policy.js';
import { AttrRefusals } from './attr-refusals.js';
import { fsPath } from '../fsmeta/index.js';

/** Resolves wire paths under one replica base directory, checking every parent on disk. */
export class Confiner {
  // Directories already proven to be real (non-symlink) dirs; cleared whenever an operation could
  // have replaced one (rename, delete, rmdir, symlink).
  private verified = new Set<string>();
  /** Temp files of this session's transfers (see temp-files.ts). */
  readonly temps = new TempFiles();

  /**
   * `modes`: the target's rule for setuid/setgid bits (see mode-policy.ts); `refusals`: the
   * tally of attributes this target could not set (attr-refusals.ts).
   */
  /** The base as path.join gives it, with one '/' after it: a path below it is this + rel. */
  private readonly prefix: string;

  constructor(
    readonly base: string,
    readonly modes: ModePolicy,
    readonly refusals: AttrRefusals = new AttrRefusals(),
  ) {
    this.prefix = path.join(base, 'x').slice(0, -1);
  }

  /** Forgets cached proofs; call after any operation that can change directory structure. */
  invalidate(): void {
    this.verified.clear();
    this.temps.forget();
  }

  /**
   * Absolute path for `rel`, after checking that each existing parent is a real directory. A path
   * whose directory is proven already is answered from that proof alone: a directory is proven
   * only after every ancestor was (here, by madeDir or by ensureParent), and invalidate() drops
   * all of them at once. The path is built by concatenation: the parts are plain names (no empty,
   * "." or ".." one), which path.join would leave as they are (it was a tenth of a `files` op's
   * time on the target, once per ancestor per file).
   */
  async resolve(rel: unknown): Promise<string> {
    const proven = this.resolveProven(rel);
    if (proven !== undefined) return proven;
    const parts = splitSafeRelPath(rel);
    const abs = this.prefix + parts.join('/');
    let cur = this.prefix;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = i === 0 ? cur + (parts[i] as string) : `${cur}/${parts[i] as string}`;
      if (this.verified.has(cur)) continue;
      let st;
      try {
        st = await fsp.lstat(fsPath(cur));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break; // the rest does not exist yet
        throw err;
      }
      if (st.isSymbolicLink()) {
        throw new SmrError(
          'path-refused',
          `refusing "${String(rel)}": "${parts.slice(0, i + 1).join('/')}" is a symlink on the target`,
        );
      }
      if (!st.isDirectory()) {
        throw new SmrError(
          'path-refused',
          `refusing "${String(rel)}": "${parts.slice(0, i + 1).join('/')}" is not a directory on the target`,
        );
      }
      this.verified.add(cur);
    }
    return abs;
  }

  /**
   * resolve() from the proofs alone, without a turn of the event loop (a `files` op's files, a
   * thousand per op): undefined when a parent must be looked at. A path answered here needs no
   * ensureParent() either: its directory is the base, or proven.
   */
  resolveProven(rel: unknown): string | undefined {
    const parts = splitSafeRelPath(rel);
    const abs = this.prefix + parts.join('/');
    const dir = abs.slice(0, abs.lastIndexOf('/'));
    return parts.length === 1 || this.verified.has(dir) ? abs : undefined;
  }

  /**
   * A directory op made `abs` (`made`), or found it a real directory: proven, and when made, it
   * holds no temp files (not listed when its first file lands).
   */
  madeDir(abs: string, made: boolean): void {
    this.verified.add(abs);
    if (made) this.temps.empty(abs);
  }

  /** Creates the missing parents of `abs` (already resolved) one component at a time. */
  async ensureParent(abs: string): Promise<void> {
    const dir = path.dirname(abs);
    if (dir === this.base || this.verified.has(dir)) return;
    const rel = path.relative(this.base, dir).split(path.sep);
    let cur = this.base;
    for (const c of rel) {
      cur = path.join(cur, c);
      if (this.verified.has(cur)) continue;
      try {
        await fsp.mkdir(fsPath(cur));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const st = await fsp.lstat(fsPath(cur));
        if (!st.isDirectory() || st.isSymbolicLink()) {
          // A file or link stands where the source has a directory: the source's view wins.
          await fsp.rm(fsPath(cur), { force: true, recursive: false });
          await fsp.mkdir(fsPath(cur));
        }
      }
      this.verified.add(cur);
    }
  }
}

/** Resolves a connection's target path under --root, refusing escapes; creates it when `create`. */
export async function resolveReplicaBase(
  root: string,
  targetPath: unknown,
  create: boolean,
): Promise<string> {
  const parts = splitSafeRelPath(targetPath, 'target path');
  let cur = root;
  for (const c of parts) {
    cur = path.join(cur, c);
    let st;
    try {
      st = await fsp.lstat(fsPath(cur));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!create) return path.join(root, ...parts);
      await fsp.mkdir(fsPath(cur));
      continue;
    }
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new SmrError(
        'path-refused',
        `target path "${String(targetPath)}" goes through "${path.relative(root, cur)}", which is not a real directory`,
      );
    }
  }
  return cur;
}
