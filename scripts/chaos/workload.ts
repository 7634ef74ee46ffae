// The chaos workload: seeded, randomized changes to a source tree — creates, appends, in-place and
// whole overwrites (big ones too), truncates, chmods, symlinks, type changes between file,
// directory and symlink, and above all renames and deletes of whole directory trees.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TreeModel, join, type Kind } from './model.js';
import type { Rng } from '../lib/rng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const FILE_MODES = [0o644, 0o600, 0o640, 0o664, 0o755, 0o700];
const DIR_MODES = [0o755, 0o700, 0o750, 0o775, 0o711];
const MAX_DEPTH = 6;

/** Tunables of one workload. */
export interface WorkloadOptions {
  /** Bytes of big (1-4 MiB) overwrites and creates allowed in the whole run. */
  bigBudget: number;
  /** The tree is steered back below this many entries (deletes get likelier above it). */
  maxEntries: number;
}

/** One run's workload over `root`; every choice comes from `rng`. */
export class Workload {
  readonly model = new TreeModel();
  ops = 0;
  failures = 0;
  readonly byKind: Record<string, number> = {};
  private n = 0;
  private bigLeft: number;

  constructor(
    private readonly root: string,
    private readonly rng: Rng,
    private readonly log: (line: string) => void,
    private readonly opts: WorkloadOptions,
  ) {
    this.bigLeft = opts.bigBudget;
  }

  /** The tree before the connection is made: nested directories, files, links, two big files. */
  seedTree(dirs: number, files: number): void {
    for (let i = 0; i < dirs; i++) this.mkdir();
    for (let i = 0; i < files; i++) this.createFile();
    for (let i = 0; i < 6; i++) this.symlink();
    for (let i = 0; i < 2; i++) this.writeWhole(this.freshFile(this.pickDir()), 2 * MiB);
  }

  /** Changes the tree until `endAt` (ms epoch) or `stopped()`; bursts and pauses mixed in. */
  async run(endAt: number, stopped: () => boolean = () => false): Promise<void> {
    let burst = 0;
    while (Date.now() < endAt && !stopped()) {
      this.step();
      if (burst > 0) {
        burst--;
        continue;
      }
      const r = this.rng.next();
      if (r < 0.04) burst = this.rng.range(20, 80);
      const ms = r < 0.08 ? this.rng.range(100, 700) : this.rng.range(0, 12);
      await new Promise((res) => setTimeout(res, ms));
    }
  }

  /** One random change (another one is tried when the chosen kind does not apply). */
  step(): void {
    for (let tries = 0; tries < 20; tries++) {
      const kind = this.rng.weighted(this.weights());
      let done: string | null;
      try {
        done = this.ops_[kind]();
      } catch (err) {
        // The model went wrong (it should not): say so and re-read the tree.
        this.failures++;
        this.log(`op ${kind} FAILED: ${(err as Error).message}`);
        this.resync();
        return;
      }
      if (done === null) continue;
      this.ops++;
      this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
      this.log(`op ${kind} ${done}`);
      return;
    }
  }

  private weights(): Record<keyof Workload['ops_'], number> {
    // Steered between a quarter of maxEntries and maxEntries: a tree that deletes collapsed to a
    // handful of entries would no longer have idle directories for a restart to get wrong.
    const crowded = this.model.size > this.opts.maxEntries ? 4 : 1;
    const sparse = this.model.size < this.opts.maxEntries / 4 ? 4 : 1;
    return {
      create: (12 * sparse) / crowded,
      append: 8,
      patch: 6,
      overwrite: 5,
      big: 2,
      truncate: 4,
      chmodFile: 3,
      chmodDir: 3,
      symlink: 3 / crowded,
      relink: 2,
      mkdir: (4 * sparse) / crowded,
      mktree: (2 * sparse) / crowded,
      renameFile: 7,
      renameDir: 7,
      swap: 2,
      deleteFile: (4 * crowded) / sparse,
      deleteLink: (2 * crowded) / sparse,
      deleteTree: (4 * crowded) / sparse,
      retype: 6,
    };
  }

  private readonly ops_ = {
    create: (): string => this.createFile(),
    append: (): string | null =>
      this.onFile((f) => {
        fs.appendFileSync(this.abs(f), this.bytes(this.rng.range(1, 8 * KiB)));
        return f;
      }),
    patch: (): string | null =>
      this.onFile((f) => {
        const size = fs.statSync(this.abs(f)).size;
        const len = this.rng.range(1, 16 * KiB);
        const at = this.rng.int(size + 1);
        const fd = fs.openSync(this.abs(f), 'r+');
        fs.writeSync(fd, this.bytes(len), 0, len, at);
        fs.closeSync(fd);
        return `${f} @${at}+${len}`;
      }),
    overwrite: (): string | null => this.onFile((f) => this.writeWhole(f, this.smallSize())),
    big: (): string | null => {
      if (this.bigLeft <= 0) return null;
      const size = Math.min(this.bigLeft, this.rng.range(1 * MiB, 4 * MiB));
      this.bigLeft -= size;
      const files = this.model.all('file');
      const f =
        files.length && this.rng.chance(0.6)
          ? this.rng.pick(files)
          : this.freshFile(this.pickDir());
      return this.writeWhole(f, size);
    },
    truncate: (): string | null =>
      this.onFile((f) => {
        const len = this.rng.int(fs.statSync(this.abs(f)).size + 1);
        fs.truncateSync(this.abs(f), len);
        return `${f} to ${len}`;
      }),
    chmodFile: (): string | null =>
      this.onFile((f) => {
        const mode = this.rng.pick(FILE_MODES);
        fs.chmodSync(this.abs(f), mode);
        return `${f} ${mode.toString(8)}`;
      }),
    chmodDir: (): string | null => {
      const dirs = this.model.all('dir').filter((d) => d !== '');
      if (!dirs.length) return null;
      const d = this.rng.pick(dirs);
      const mode = this.rng.pick(DIR_MODES);
      fs.chmodSync(this.abs(d), mode);
      return `${d} ${mode.toString(8)}`;
    },
    symlink: (): string => this.symlink(),
    relink: (): string | null => {
      const links = this.model.all('symlink');
      if (!links.length) return null;
      const l = this.rng.pick(links);
      fs.unlinkSync(this.abs(l));
      const target = this.linkTarget();
      fs.symlinkSync(target, this.abs(l));
      return `${l} -> ${target}`;
    },
    mkdir: (): string | null => this.mkdir(),
    mktree: (): string | null => this.mktree(),
    renameFile: (): string | null => this.renameFile(),
    renameDir: (): string | null => this.renameDir(),
    swap: (): string | null => this.swap(),
    deleteFile: (): string | null =>
      this.onFile((f) => {
        fs.unlinkSync(this.abs(f));
        this.model.deleteTree(f);
        return f;
      }),
    deleteLink: (): string | null => {
      const links = this.model.all('symlink');
      if (!links.length) return null;
      const l = this.rng.pick(links);
      fs.unlinkSync(this.abs(l));
      this.model.deleteTree(l);
      return l;
    },
    deleteTree: (): string | null => {
      const d = this.smallTree();
      if (d === null) return null;
      const n = this.model.below(d).length;
      fs.rmSync(this.abs(d), { recursive: true, force: true });
      this.model.deleteTree(d);
      return `${d} (${n} below)`;
    },
    retype: (): string | null => this.retype(),
  };

  private createFile(): string {
    return this.writeWhole(this.freshFile(this.pickDir()), this.smallSize());
  }

  private symlink(): string {
    const l = join(this.pickDir(), `l${this.n++}`);
    const target = this.linkTarget();
    fs.symlinkSync(target, this.abs(l));
    this.model.set(l, 'symlink');
    return `${l} -> ${target}`;
  }

  private mkdir(): string | null {
    const parent = this.pickDir(MAX_DEPTH - 1);
    const d = join(parent, `d${this.n++}`);
    fs.mkdirSync(this.abs(d), { mode: this.rng.pick(DIR_MODES) });
    this.model.set(d, 'dir');
    return d;
  }

  /** A new directory with files and a subdirectory in it, made in one go. */
  private mktree(): string | null {
    const d = this.mkdir();
    if (d === null) return null;
    const dirs = [d];
    for (let i = this.rng.range(1, 4); i > 0; i--) {
      const parent = this.rng.pick(dirs);
      if (TreeModel.depth(parent) >= MAX_DEPTH) continue;
      const sub = join(parent, `d${this.n++}`);
      fs.mkdirSync(this.abs(sub), { mode: this.rng.pick(DIR_MODES) });
      this.model.set(sub, 'dir');
      dirs.push(sub);
    }
    const files = this.rng.range(2, 16);
    for (let i = 0; i < files; i++)
      this.writeWhole(this.freshFile(this.rng.pick(dirs)), this.smallSize());
    return `${d} (${dirs.length} dirs, ${files} files)`;
  }

  private renameFile(): string | null {
    const movable = [...this.model.all('file'), ...this.model.all('symlink')];
    if (!movable.length) return null;
    const f = this.rng.pick(movable);
    const files = this.model.all('file').filter((g) => g !== f);
    // Sometimes over an existing file: rename(2) replaces it.
    const to =
      files.length && this.rng.chance(0.2)
        ? this.rng.pick(files)
        : this.freshName(
            this.rng.chance(0.5) ? path.posix.dirname(f).replace(/^\.$/, '') : this.pickDir(),
            f,
          );
    fs.renameSync(this.abs(f), this.abs(to));
    this.model.moveTree(f, to);
    return `${f} -> ${to}`;
  }

  private renameDir(): string | null {
    const dirs = this.model.all('dir').filter((d) => d !== '');
    if (!dirs.length) return null;
    const d = this.rng.pick(dirs);
    const parents = this.model
      .all('dir')
      .filter((p) => !TreeModel.within(p, d) && TreeModel.depth(p) < MAX_DEPTH);
    if (!parents.length) return null;
    // Sometimes over an existing empty directory (rename(2) replaces it), else to a new name.
    const empty = dirs.filter(
      (e) => !TreeModel.within(e, d) && !TreeModel.within(d, e) && this.model.below(e).length === 0,
    );
    const to =
      empty.length && this.rng.chance(0.15)
        ? this.rng.pick(empty)
        : join(this.rng.pick(parents), `d${this.n++}`);
    const n = this.model.below(d).length;
    fs.renameSync(this.abs(d), this.abs(to));
    this.model.moveTree(d, to);
    return `${d} -> ${to} (${n} below)`;
  }

  /** a -> tmp, b -> a, tmp -> b, back to back: two files or two disjoint directories. */
  private swap(): string | null {
    const kind: Kind = this.rng.chance(0.5) ? 'file' : 'dir';
    const xs = this.model.all(kind).filter((p) => p !== '');
    if (xs.length < 2) return null;
    const a = this.rng.pick(xs);
    const b = this.rng.pick(xs);
    if (TreeModel.within(a, b) || TreeModel.within(b, a)) return null;
    const tmp = join(path.posix.dirname(a).replace(/^\.$/, ''), `swap${this.n++}`);
    fs.renameSync(this.abs(a), this.abs(tmp));
    this.model.moveTree(a, tmp);
    fs.renameSync(this.abs(b), this.abs(a));
    this.model.moveTree(b, a);
    fs.renameSync(this.abs(tmp), this.abs(b));
    this.model.moveTree(tmp, b);
    return `${a} <-> ${b}`;
  }

  /** The same name becomes another type: file, directory and symlink in any direction. */
  private retype(): string | null {
    const all = [
      ...this.model.all('file'),
      ...this.model.all('dir'),
      ...this.model.all('symlink'),
    ].filter((p) => p !== '');
    if (!all.length) return null;
    const p = this.rng.pick(all);
    const from = this.model.get(p) as Kind;
    if (from === 'dir' && this.isBig(p)) return null;
    const to = this.rng.pick((['file', 'dir', 'symlink'] as Kind[]).filter((k) => k !== from));
    fs.rmSync(this.abs(p), { recursive: true, force: true });
    this.model.deleteTree(p);
    if (to === 'file') this.writeWhole(p, this.smallSize());
    else if (to === 'symlink') {
      fs.symlinkSync(this.linkTarget(), this.abs(p));
      this.model.set(p, 'symlink');
    } else {
      fs.mkdirSync(this.abs(p), { mode: this.rng.pick(DIR_MODES) });
      this.model.set(p, 'dir');
      if (this.rng.chance(0.6)) this.writeWhole(this.freshFile(p), this.smallSize());
    }
    return `${p} ${from} -> ${to}`;
  }

  /** A directory whose tree is not a big share of the whole (null when none was found). */
  private smallTree(): string | null {
    const dirs = this.model.all('dir').filter((d) => d !== '');
    for (let i = 0; i < 5 && dirs.length; i++) {
      const d = this.rng.pick(dirs);
      if (!this.isBig(d)) return d;
    }
    return null;
  }

  /** Deleting or retyping this directory would take more than a sixth of the tree with it. */
  private isBig(d: string): boolean {
    return this.model.below(d).length > Math.max(20, this.model.size / 6);
  }

  private writeWhole(f: string, size: number): string {
    fs.writeFileSync(this.abs(f), this.bytes(size));
    if (this.model.get(f) === undefined && this.rng.chance(0.3))
      fs.chmodSync(this.abs(f), this.rng.pick(FILE_MODES));
    this.model.set(f, 'file');
    return `${f} ${size} B`;
  }

  private onFile(fn: (f: string) => string): string | null {
    const files = this.model.all('file');
    return files.length ? fn(this.rng.pick(files)) : null;
  }

  /** A directory of the model (at most `maxDepth` deep). */
  private pickDir(maxDepth = MAX_DEPTH): string {
    const dirs = this.model.all('dir').filter((d) => TreeModel.depth(d) <= maxDepth);
    return this.rng.pick(dirs);
  }

  private freshFile(dir: string): string {
    return join(dir, `f${this.n++}.${this.rng.chance(0.3) ? 'bin' : 'txt'}`);
  }

  private freshName(dir: string, like: string): string {
    const ext = path.posix.extname(like);
    return join(dir, `r${this.n++}${ext}`);
  }

  /** Mostly small, sometimes a few hundred KiB. */
  private smallSize(): number {
    return this.rng.chance(0.06)
      ? this.rng.range(64 * KiB, 600 * KiB)
      : this.rng.range(0, 20 * KiB);
  }

  /** A link target: a sibling-ish relative path, an absolute path, or a dangling name. */
  private linkTarget(): string {
    const r = this.rng.next();
    if (r < 0.5) {
      const any = [...this.model.all('file'), ...this.model.all('dir')].filter((p) => p !== '');
      if (any.length) return `../${this.rng.pick(any)}`;
    }
    if (r < 0.7) return `/nonexistent/t${this.n++}`;
    return `dangling-${this.n++}`;
  }

  private bytes(n: number): Buffer {
    return crypto.randomBytes(n);
  }

  private abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  /** Rebuilds the model from disk after an op failed. */
  private resync(): void {
    const walk = (rel: string): void => {
      for (const e of fs.readdirSync(this.abs(rel), { withFileTypes: true })) {
        const r = join(rel, e.name);
        if (e.isDirectory()) {
          this.model.set(r, 'dir');
          walk(r);
        } else if (e.isSymbolicLink()) this.model.set(r, 'symlink');
        else this.model.set(r, 'file');
      }
    };
    this.model.clear();
    walk('');
  }
}
