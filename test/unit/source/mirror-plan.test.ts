// What a mirror does with each entry, by mode, against the target's listing.
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ListEntry } from '../../../src/protocol/listing.js';
import { decide, differs, type MirrorOptions } from '../../../src/source/mirror-plan.js';

/** A stat of a regular file (or a directory / link) with these attributes. */
function st(kind: 'file' | 'dir' | 'symlink', size = 10, mtimeMs = 1000, mode = 0o644): Stats {
  return {
    size,
    mtimeMs,
    mode,
    isFile: () => kind === 'file',
    isDirectory: () => kind === 'dir',
    isSymbolicLink: () => kind === 'symlink',
  } as Stats;
}

const t = (o: Partial<ListEntry> = {}): ListEntry => ({
  path: 'f',
  type: 'file',
  size: 10,
  mtimeMs: 1000,
  mode: 0o644,
  ...o,
});

const diff: MirrorOptions = { mode: 'diff' };

/** A stat of a fifo or a device (major 1, minor `minor`). */
function node(kind: 'fifo' | 'char', mode = 0o640, mtimeMs = 1000, minor = 3): Stats {
  return {
    ...st('file', 0, mtimeMs, mode),
    isFile: () => false,
    isFIFO: () => kind === 'fifo',
    isSocket: () => false,
    isCharacterDevice: () => kind === 'char',
    isBlockDevice: () => false,
    rdev: (1 << 8) | minor,
  } as Stats;
}

describe('decide: special entries', () => {
  const fifo = t({ type: 'fifo', size: 0, mode: 0o640 });
  const dev = t({ type: 'char', size: 0, mode: 0o640, rdev: [1, 3] });

  it('leaves an equal one alone and makes one again when type, mode, mtime or number differ', () => {
    expect(decide(node('fifo'), fifo, diff)).toBe('same');
    expect(decide(node('char'), dev, diff)).toBe('same');
    expect(decide(node('fifo'), undefined, diff)).toBe('whole');
    expect(decide(node('fifo'), dev, diff)).toBe('whole');
    expect(decide(node('fifo'), t({ size: 0, mode: 0o640 }), diff)).toBe('whole');
    expect(decide(node('fifo', 0o600), fifo, diff)).toBe('whole');
    expect(decide(node('fifo', 0o640, 9000), fifo, diff)).toBe('whole');
    expect(decide(node('char', 0o640, 1000, 5), dev, diff)).toBe('whole');
    expect(decide(node('fifo'), fifo, { mode: 'full' })).toBe('whole');
  });
});

describe('decide', () => {
  it('sends whole what the target lacks or has as another type', () => {
    expect(decide(st('file'), undefined, diff)).toBe('whole');
    expect(decide(st('file'), t({ type: 'dir' }), diff)).toBe('whole');
    expect(decide(st('dir'), t({ type: 'file' }), diff)).toBe('whole');
  });

  it('diff: the same attributes are the same file; any difference compares blocks', () => {
    expect(decide(st('file'), t(), diff)).toBe('same');
    expect(decide(st('file', 11), t(), diff)).toBe('blocks');
    expect(decide(st('file', 10, 5000), t(), diff)).toBe('blocks');
    expect(decide(st('file', 10, 1000, 0o600), t(), diff)).toBe('blocks');
    // An empty copy on the target has no blocks to compare against.
    expect(decide(st('file', 11), t({ size: 0 }), diff)).toBe('whole');
  });

  it('full sends every file; checksum compares every file whatever its attributes', () => {
    expect(decide(st('file'), t(), { mode: 'full' })).toBe('whole');
    expect(decide(st('file'), t(), { mode: 'checksum' })).toBe('blocks');
  });

  it('newer-only leaves alone what is not newer on the source', () => {
    const newer: MirrorOptions = { mode: 'diff', newerOnly: true };
    expect(decide(st('file', 99, 1000), t(), newer)).toBe('same');
    expect(decide(st('file', 10, 3000), t(), newer)).toBe('blocks');
  });

  it('a directory is the same whatever its mtime, not whatever its mode; a link differs by size or mtime', () => {
    expect(decide(st('dir', 0, 5), t({ type: 'dir', mtimeMs: 9 }), diff)).toBe('same');
    const chmodded = t({ type: 'dir', mode: 0o750 });
    for (const mode of ['diff', 'checksum', 'full'] as const)
      expect(decide(st('dir', 0, 5, 0o775), chmodded, { mode })).toBe('whole');
    expect(decide(st('symlink', 3), t({ type: 'symlink', size: 4 }), diff)).toBe('whole');
  });
});

describe('differs', () => {
  it('mtimes within a millisecond are equal (utimes loses the rest)', () => {
    expect(differs(st('file', 10, 1000.4), t({ mtimeMs: 1000 }), diff)).toBe(false);
    expect(differs(st('file', 10, 1002), t({ mtimeMs: 1000 }), diff)).toBe(true);
  });
});
