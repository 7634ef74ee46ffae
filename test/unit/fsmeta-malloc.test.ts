// fsmeta's malloc settings: applied where the C library is glibc, refused (false, no throw) elsewhere.
import { describe, expect, it } from 'vitest';
import { capMallocArenas, trimMalloc } from '../../src/fsmeta/index.js';

/** glibc's version when this process runs on glibc (Node's report says), else undefined. */
function glibc(): string | undefined {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime;
}

describe('malloc settings', () => {
  it('caps the arenas on glibc, and says false elsewhere', () => {
    expect(capMallocArenas(2)).toBe(glibc() !== undefined);
  });

  it('trims without throwing, again and again', () => {
    for (let i = 0; i < 3; i++) expect(typeof trimMalloc()).toBe('boolean');
    // A trim right after another finds little or nothing to give back; either answer is a boolean.
    if (glibc() === undefined) expect(trimMalloc()).toBe(false);
  });
});
