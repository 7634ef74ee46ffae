// The rename window on its own, with a clock the test turns.
import { describe, expect, it } from 'vitest';
import { RENAME_WINDOW_MS, RenameWindow } from '../../../src/source/rename-window.js';

describe('RenameWindow', () => {
  it('keeps paths oldest first; a path already waiting keeps its deadline', () => {
    let now = 1000;
    const w = new RenameWindow(() => now);
    w.open('a');
    now += 10;
    w.open('b');
    w.open('a'); // hinted again: its window does not start over
    expect(w.first()).toBe('a');
    expect(w.earliest()).toBe(1000 + RENAME_WINDOW_MS);
    expect(w.due(1000 + RENAME_WINDOW_MS - 1)).toBeUndefined();
    expect(w.due(1000 + RENAME_WINDOW_MS)).toBe('a');
    w.close('a');
    expect(w.due(Infinity)).toBe('b');
    expect(w.size).toBe(1);
  });

  it('closes everything below a path, and nothing beside it', () => {
    const w = new RenameWindow(() => 0);
    for (const p of ['d', 'd/x', 'd/y/z', 'dd', 'e/d']) w.open(p);
    w.closeBelow('d');
    expect([w.has('d'), w.has('d/x'), w.has('d/y/z'), w.has('dd'), w.has('e/d')]).toEqual([
      true,
      false,
      false,
      true,
      true,
    ]);
  });

  it('is empty: nothing due, no deadline', () => {
    const w = new RenameWindow();
    expect(w.due(Infinity)).toBeUndefined();
    expect(w.first()).toBeUndefined();
    expect(w.earliest()).toBe(Infinity);
  });
});
