// joinRel (shared/fsutil.ts): the path.join it stands in for, for every relative path, and the
// plain concatenation only where the two cannot differ.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinRel } from '../../../src/shared/fsutil.js';

describe('joinRel', () => {
  const rels = ['a', 'a/b', 'd0/s1/f.dat', '..a', 'a/..b', '.a/b', 'a/.b', '...', 'ä/ö'];
  const odd = ['', '.', '..', 'a/.', 'a/..', 'a/./b', 'a//b', '/a', 'a/', '../x', 'a/../../x'];

  it('equals path.join for every base and relative path', () => {
    for (const base of ['/src', '/src/', '/', '/a/./b', '/a//b/', 'rel/dir'])
      for (const rel of [...rels, ...odd])
        expect(joinRel(base, rel), `${base} + ${rel}`).toBe(path.join(base, ...rel.split('/')));
  });
});
