// The itemized lines of a dry run (docs/DRYRUN.md) and the restore's --to check.
import { describe, expect, it } from 'vitest';
import { dryRunResult, itemize } from '../../../src/source/itemize.js';
import { restoreOptions } from '../../../src/source/restore.js';

describe('itemize', () => {
  it('writes rsync -i style codes', () => {
    const line = (f: Parameters<typeof itemize>[0], d: '<' | '>' = '<') => itemize(f, d).line;
    expect(line({ path: 'a', type: 'file', action: 'create', bytes: 5 })).toBe(
      '<f+++++++++ a  (5 B)',
    );
    expect(line({ path: 'a', type: 'file', action: 'create', bytes: 5 }, '>')).toBe(
      '>f+++++++++ a  (5 B)',
    );
    expect(line({ path: 'd', type: 'dir', action: 'create' })).toBe('cd+++++++++ d');
    expect(
      line({ path: 'a', type: 'file', action: 'update', attrs: ['size', 'mtime'], bytes: 9 }),
    ).toBe('<f.st...... a  (9 B)');
    expect(line({ path: 'a', type: 'file', action: 'update', attrs: ['mtime'], bytes: 0 })).toBe(
      '.f..t...... a',
    );
    expect(line({ path: 'l', type: 'symlink', action: 'update', attrs: ['link target'] })).toBe(
      'cLc........ l',
    );
    expect(line({ path: 'o', type: 'file', action: 'delete' })).toBe('*deleting   o');
    expect(line({ path: 'o', type: 'file', action: 'skip', reason: 'kept' })).toBe(
      '*skipping   o  (kept)',
    );
  });

  it('counts, sums and sorts a result', () => {
    const r = dryRunResult({ name: 'w', operation: 'mirror' }, [
      itemize({ path: 'b', type: 'file', action: 'update', attrs: ['size'], bytes: 3 }, '<'),
      itemize({ path: 'a', type: 'file', action: 'create', bytes: 4 }, '<'),
      itemize({ path: 'c', type: 'file', action: 'delete' }, '<'),
    ]);
    expect(r.items.map((i) => i.path)).toEqual(['a', 'b', 'c']);
    expect(r.counts).toEqual({ create: 1, update: 1, delete: 1, skip: 0 });
    expect(r.bytes).toBe(7);
    expect(r.dryRun).toBe(true);
  });
});

describe('restoreOptions', () => {
  it('restores into the path, or --to outside it; --to inside it is refused', () => {
    expect(restoreOptions('/srv/web', { mode: 'diff', only: [] }).dest).toBe('/srv/web');
    expect(restoreOptions('/srv/web', { mode: 'diff', only: [], to: '/tmp/x' }).dest).toBe(
      '/tmp/x',
    );
    expect(restoreOptions('/srv/web', { mode: 'diff', only: [], to: '/srv/web2' }).dest).toBe(
      '/srv/web2',
    );
    expect(() =>
      restoreOptions('/srv/web', { mode: 'diff', only: [], to: '/srv/web/sub' }),
    ).toThrow(/inside the connection's path/);
  });
});
