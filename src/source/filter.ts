// Which paths under a connection belong to it: --include / --exclude patterns, read the way rsync
// and .gitignore read them (picomatch does the glob matching):
//   - a pattern without a slash matches a name at any depth: `node_modules`, `*.log`;
//   - a leading `/` anchors it at the connection's path: `/build` is only the top-level build;
//   - a slash inside anchors it too: `docs/*.md` is docs/ at the top; `**/docs/*.md` is any depth;
//   - a trailing `/` matches directories only: `cache/` leaves a file named cache alone.
// An excluded directory excludes everything below it. With includes, a file is replicated when an
// include matches it or one of its directories; directories are kept so includes can reach into them.
import picomatch from 'picomatch';
import { SmrError } from '../shared/errors.js';

/** Decides membership of relative POSIX-style paths. */
export interface PathFilter {
  file(rel: string): boolean;
  dir(rel: string): boolean;
  /**
   * Texts (ASCII, none with a '/') one of which every path that file() or dir() turns away
   * holds: a path holding none of them is taken by both. Absent or null: no such list.
   */
  readonly refusedHold?: readonly string[] | null;
}

// Files smr itself writes inside replicas; never replicate them on (chained replication).
const BUILTIN_EXCLUDES = ['.smr-tmp-*'];

type Matcher = (rel: string) => boolean;

interface Rules {
  /** Match files and directories alike. */
  any: Matcher;
  /** Match directories only (patterns written with a trailing slash). */
  dirOnly: Matcher;
  /** Texts every path either matches holds one of (requiredText), or null. */
  needs: string[] | null;
}

/** The glob a pattern stands for (anchored, or `**\/` in front), and whether it is for dirs only. */
export function translatePattern(pattern: string): { glob: string; dirOnly: boolean } {
  let p = pattern;
  const dirOnly = p.endsWith('/');
  p = p.replace(/\/+$/, '');
  const anchored = p.startsWith('/') || p.includes('/');
  p = p.replace(/^\/+/, '');
  return { glob: anchored ? p : `**/${p}`, dirOnly };
}

/** Throws SmrError('usage') for a pattern that can never match (empty, "..", a NUL byte). */
export function checkPattern(pattern: string, flag: string): void {
  const p = pattern.replace(/^\/+|\/+$/g, '');
  const why =
    p === ''
      ? 'it is empty'
      : p.includes('\0')
        ? 'it holds a NUL byte'
        : p.split('/').some((c) => c === '..' || c === '.')
          ? 'paths under a connection have no "." or ".." parts'
          : null;
  if (why)
    throw new SmrError(
      'usage',
      `${flag} "${pattern}" can never match: ${why}`,
      'patterns are relative to the connection path, like node_modules, *.log, /build or cache/',
    );
  try {
    picomatch.makeRe(translatePattern(pattern).glob, { dot: true });
  } catch (err) {
    throw new SmrError('usage', `${flag} "${pattern}" is not a valid pattern: ${String(err)}`);
  }
}

function rules(patterns: string[]): Rules {
  const any: string[] = [];
  const dirOnly: string[] = [];
  for (const p of patterns) {
    const t = translatePattern(p);
    (t.dirOnly ? dirOnly : any).push(t.glob);
  }
  const compile = (globs: string[]): { match: Matcher; needs: string[] | null } => {
    if (!globs.length) return { match: () => false, needs: [] };
    const m = globMatcher(globs);
    // "dir/**" also matches the directory itself, as it means "dir and everything below".
    const both: Matcher = (rel) => m(rel) || m(rel + '/');
    // A path holding none of the texts every match must hold is no match (rel + '/' holds no
    // more of them: none has a slash): most paths are turned away so, without a regex.
    const texts = globs.map(requiredText);
    if (texts.some((t) => t === null)) return { match: both, needs: null };
    const needs = texts as string[];
    return { match: (rel) => needs.some((t) => rel.includes(t)) && both(rel), needs };
  };
  const a = compile(any);
  const d = compile(dirOnly);
  return { any: a.match, dirOnly: d.match, needs: a.needs && d.needs && [...a.needs, ...d.needs] };
}

/**
 * What picomatch(globs, { dot: true }) answers, without its wrapper: per call and glob that built
 * a result object and ran regex.exec (a match array), 7% of a no-change restart's main thread for
 * the one built-in exclude. The same tests on the same regex: an empty path matches nothing, a
 * path equal to the glob matches, else the glob's regex decides (picomatch.test without format,
 * capture or basename options, as here).
 */
export function globMatcher(globs: string[]): Matcher {
  const tests = globs.map((glob) => {
    const re = picomatch.makeRe(glob, { dot: true });
    return (s: string): boolean => s !== '' && (s === glob || re.test(s));
  });
  return (s) => tests.some((t) => t(s));
}

/**
 * Text every path `glob` matches holds, or null where its syntax leaves that uncertain: only a
 * glob of plain characters, `*`, `?` and `/` is read (no brackets, braces, extglobs, negations or
 * escapes), and its longest run of plain characters is what a match must hold as it is.
 */
export function requiredText(glob: string): string | null {
  if (/[^\w.~/*?-]/.test(glob)) return null;
  const longest = glob.split(/[*?/]+/).reduce((a, b) => (b.length > a.length ? b : a), '');
  return longest.length >= 2 ? longest : null;
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Builds a filter from include and exclude patterns (see the top of this file). */
export function makeFilter(include: string[], exclude: string[]): PathFilter {
  const exc = rules([...BUILTIN_EXCLUDES, ...exclude]);
  const inc = include.length ? rules(include) : null;
  const isIncluded = (rel: string): boolean =>
    !inc || inc.any(rel) || ancestors(rel).some((a) => inc.any(a) || inc.dirOnly(a));
  return {
    file: (rel) => !exc.any(rel) && isIncluded(rel),
    dir: (rel) => !exc.any(rel) && !exc.dirOnly(rel),
    // Includes turn away what they do not match: no text tells those apart.
    refusedHold: inc ? null : exc.needs,
  };
}

/** True when any ancestor directory of `rel` is excluded. */
export function underExcludedDir(filter: PathFilter, rel: string): boolean {
  return ancestors(rel).some((a) => !filter.dir(a));
}

/**
 * Patterns of an --exclude-from / --include-from file: one a line, trailing blanks dropped (as
 * .gitignore does); blank lines and lines starting with # or ; are skipped (as rsync does).
 */
export function patternsFromText(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !/^[#;]/.test(l));
}
