// Which paths under a connection belong to it: --include / --exclude globs (picomatch), relative
// to the connection's path. Directories are kept unless excluded, so includes can reach into them.
import picomatch from 'picomatch';

/** Decides membership of relative POSIX-style paths. */
export interface PathFilter {
  file(rel: string): boolean;
  dir(rel: string): boolean;
}

// Files smr itself writes inside replicas; never replicate them on (chained replication).
const BUILTIN_EXCLUDES = ['**/.smr-tmp-*'];

/** Builds a filter from include and exclude globs. */
export function makeFilter(include: string[], exclude: string[]): PathFilter {
  const opts = { dot: true };
  const inc = include.length ? picomatch(include, opts) : null;
  const exc = picomatch([...BUILTIN_EXCLUDES, ...exclude], opts);
  // "dir/**" style excludes also exclude the directory itself.
  const excDir = (rel: string): boolean => exc(rel) || exc(rel + '/');
  return {
    file: (rel) => !exc(rel) && (inc ? inc(rel) : true),
    dir: (rel) => !excDir(rel),
  };
}

/** True when any ancestor directory of `rel` is excluded. */
export function underExcludedDir(filter: PathFilter, rel: string): boolean {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (!filter.dir(parts.slice(0, i).join('/'))) return true;
  }
  return false;
}
