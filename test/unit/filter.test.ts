// Filters read like rsync's and .gitignore's: no slash = any depth, leading slash = anchored,
// trailing slash = directories only.
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import {
  checkPattern,
  globMatcher,
  requiredText,
  makeFilter,
  patternsFromText,
  translatePattern,
  underExcludedDir,
} from '../../src/source/filter.js';

/** Whether a file at `rel` is replicated, directories above it included. */
function replicated(f: ReturnType<typeof makeFilter>, rel: string): boolean {
  return f.file(rel) && !underExcludedDir(f, rel);
}

describe('exclude patterns', () => {
  it('a name without a slash matches at any depth', () => {
    const f = makeFilter([], ['node_modules', '*.log']);
    for (const p of ['node_modules/a.js', 'web/node_modules/x/y.js', 'a/b/c/node_modules/z'])
      expect(replicated(f, p), p).toBe(false);
    expect(f.dir('app/node_modules')).toBe(false);
    expect(replicated(f, 'x.log')).toBe(false);
    expect(replicated(f, 'deep/er/x.log')).toBe(false);
    expect(replicated(f, 'deep/er/x.logs')).toBe(true);
    expect(replicated(f, 'node_modules_backup/a')).toBe(true);
  });

  it('a leading slash anchors at the connection path', () => {
    const f = makeFilter([], ['/build']);
    expect(replicated(f, 'build/out.js')).toBe(false);
    expect(replicated(f, 'build')).toBe(false);
    expect(replicated(f, 'src/build/out.js')).toBe(true);
  });

  it('a slash inside anchors too; **/ reaches any depth', () => {
    const f = makeFilter([], ['docs/*.md', '**/tmp/*.part']);
    expect(replicated(f, 'docs/a.md')).toBe(false);
    expect(replicated(f, 'x/docs/a.md')).toBe(true);
    expect(replicated(f, 'tmp/a.part')).toBe(false);
    expect(replicated(f, 'a/b/tmp/a.part')).toBe(false);
  });

  it('a trailing slash matches directories only', () => {
    const f = makeFilter([], ['cache/']);
    expect(f.dir('cache')).toBe(false);
    expect(f.dir('a/cache')).toBe(false);
    expect(replicated(f, 'a/cache/x')).toBe(false);
    expect(f.file('cache')).toBe(true); // a file named cache stays
    expect(f.file('a/cache')).toBe(true);
  });

  it('smr temp files are never replicated', () => {
    const f = makeFilter([], []);
    expect(f.file('.smr-tmp-abc-1')).toBe(false);
    expect(f.file('a/b/.smr-tmp-abc-1')).toBe(false);
  });
});

describe('include patterns', () => {
  it('match files at any depth, or everything below a matching directory', () => {
    const f = makeFilter(['*.conf', 'keep/'], ['secret*']);
    expect(replicated(f, 'a.conf')).toBe(true);
    expect(replicated(f, 'etc/x/a.conf')).toBe(true);
    expect(replicated(f, 'etc/x/a.txt')).toBe(false);
    expect(replicated(f, 'keep/a.txt')).toBe(true);
    expect(replicated(f, 'x/keep/deep/a.bin')).toBe(true);
    expect(replicated(f, 'keep/secret.txt')).toBe(false); // exclude wins
    expect(f.dir('anything/at/all')).toBe(true); // directories are walked so includes reach in
  });

  it('a leading slash anchors an include', () => {
    const f = makeFilter(['/www'], []);
    expect(replicated(f, 'www/index.html')).toBe(true);
    expect(replicated(f, 'old/www/index.html')).toBe(false);
  });
});

describe('pattern files and checks', () => {
  it('reads one pattern a line, skipping comments and blank lines', () => {
    expect(patternsFromText('# build output\nbuild/\n\n; also\n*.log  \r\n/tmp\n')).toEqual([
      'build/',
      '*.log',
      '/tmp',
    ]);
  });

  it('refuses patterns that can never match', () => {
    for (const p of ['', '/', '../x', 'a/./b'])
      expect(() => checkPattern(p, '--exclude'), p).toThrow(/can never match/);
    expect(() => checkPattern('*.log', '--exclude')).not.toThrow();
  });

  it('translates as documented', () => {
    expect(translatePattern('*.log')).toEqual({ glob: '**/*.log', dirOnly: false });
    expect(translatePattern('/build/')).toEqual({ glob: 'build', dirOnly: true });
    expect(translatePattern('a/b')).toEqual({ glob: 'a/b', dirOnly: false });
  });
});

describe('globMatcher', () => {
  it("answers as picomatch's own matcher, path for path", () => {
    const globs = [
      '**/.smr-tmp-*',
      '**/node_modules',
      '**/*.log',
      'build',
      'docs/*.md',
      '**/docs/**',
      'a/**/b',
      '**/[abc]x',
      '**/file?.txt',
      '**/{x,y}z',
      '**/!(keep)*.tmp',
      '**/**',
    ];
    const paths = [
      '',
      '.smr-tmp-1',
      'a/.smr-tmp-x',
      'a/.smr-tmp-x/',
      'a/.smr-tmp',
      'node_modules',
      'web/node_modules/',
      'x.log',
      'deep/er/x.logs',
      'build',
      'build/',
      'docs/a.md',
      'docs/sub/a.md',
      'a/b',
      'a/q/r/b',
      'ax',
      'z/bx',
      'dx',
      'file1.txt',
      'file10.txt',
      'xz',
      'q/yz',
      'keep.tmp',
      'drop.tmp',
      '**/[abc]x',
      '.hidden',
      'dir/.hidden/f',
      'é/ü.log',
      '\udcff.log',
    ];
    for (const g of globs) {
      const ours = globMatcher([g]);
      const theirs = picomatch(g, { dot: true });
      for (const p of paths) expect(ours(p), `${g} ${p}`).toBe(theirs(p));
    }
    // What a glob's matches must hold, where its syntax makes it certain.
    expect(requiredText('**/.smr-tmp-*')).toBe('.smr-tmp-');
    expect(requiredText('docs/*.md')).toBe('docs');
    for (const g of ['**/[abc]x', '**/{x,y}z', '**/!(keep)*.tmp', '**/**', '**/*x'])
      expect(requiredText(g), g).toBeNull();
    for (const g of globs) {
      const t = requiredText(g);
      if (t === null) continue;
      const theirs = picomatch(g, { dot: true });
      for (const p of paths) if (theirs(p)) expect(p.includes(t), `${g} ${p}`).toBe(true);
    }
    // Through makeFilter (which turns paths away by those texts first), as picomatch says.
    const f = makeFilter([], ['*.log', 'docs/*.md', '**/[abc]x']);
    const exc = picomatch(['**/.smr-tmp-*', '**/*.log', 'docs/*.md', '**/[abc]x'], { dot: true });
    for (const p of paths.filter(Boolean)) expect(f.dir(p), p).toBe(!(exc(p) || exc(`${p}/`)));
    const all = globMatcher(globs);
    const theirs = picomatch(globs, { dot: true });
    for (const p of paths) expect(all(p), p).toBe(Boolean(theirs(p)));
  });
});
