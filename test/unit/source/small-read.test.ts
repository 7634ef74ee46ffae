// A batch's files opened ahead of their reads (source/small-read.ts): each is opened once, in
// order, at most the window ahead of the one read; one passed over or left at the end is closed;
// one that cannot be opened reads as null (the ordinary path looks); and a change made after
// the open is what the read sees.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheGuess, COLD_READ_MS, ReadAhead, readInto } from '../../../src/source/small-read.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function files(n: number): string[] {
  const d = mkdtempSync(path.join(os.tmpdir(), 'smr-small-read-'));
  dirs.push(d);
  return Array.from({ length: n }, (_, i) => {
    const p = path.join(d, `f${i}`);
    writeFileSync(p, `file ${i}`);
    return p;
  });
}

const openFds = (): number => readdirSync('/proc/self/fd').length;
const noAttrs = () => null;

describe('ReadAhead', () => {
  it('opens each file once, in order, at most the window ahead, and closes what it passed', () => {
    const paths = files(10);
    const asked: number[] = [];
    const before = openFds();
    const ra = new ReadAhead(
      paths.length,
      (i) => {
        asked.push(i);
        return i === 4 ? null : { abs: paths[i] as string, size: 6 };
      },
      3,
    );
    const fd0 = ra.take(0);
    expect(asked).toEqual([0, 1, 2, 3]);
    // 0 (now the caller's) and 1-3 ahead, and their directory (opened relative to it); 4 not read
    expect(openFds()).toBe(before + 5);
    const buf = Buffer.alloc(64);
    expect(readInto(fd0, buf, 0, 6, noAttrs)?.len).toBe(6);
    expect(buf.toString('utf8', 0, 6)).toBe('file 0');
    // Items 1 and 2 passed over (sent another way): closed as item 3 is taken.
    const fd3 = ra.take(3);
    expect(fd3).not.toBeNull();
    expect(asked).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(readInto(fd3, buf, 0, 6, noAttrs)?.len).toBe(6);
    expect(buf.toString('utf8', 0, 6)).toBe('file 3');
    expect(ra.take(4)).toBeNull();
    ra.close();
    expect(openFds()).toBe(before);
  });

  it('opens each file in its own directory, one directory held at a time, odd names by path', () => {
    const a = files(2);
    const b = files(1);
    const odd = path.join(path.dirname(b[0] as string), 'caf\udce9'); // byte 0xe9, not UTF-8
    writeFileSync(Buffer.from(path.join(path.dirname(odd), 'caf\xe9'), 'latin1'), 'odd');
    const paths = [...a, ...b, odd];
    const before = openFds();
    const ra = new ReadAhead(paths.length, (i) => ({ abs: paths[i] as string, size: 6 }), 0);
    const buf = Buffer.alloc(64);
    const read = (i: number): string => {
      const len = readInto(ra.take(i), buf, 0, 6, noAttrs)?.len ?? -1;
      return buf.toString('latin1', 0, len);
    };
    expect([0, 1, 2].map(read)).toEqual(['file 0', 'file 1', 'file 0']);
    expect(read(3)).toBe('odd');
    expect(openFds()).toBe(before + 1); // b's directory
    ra.close();
    expect(openFds()).toBe(before);
  });

  it('a file gone before its open reads as null; one changed after it is read as it is now', () => {
    const paths = files(3);
    const ra = new ReadAhead(3, (i) => ({ abs: paths[i] as string, size: 6 }), 4);
    rmSync(paths[1] as string);
    const fd0 = ra.take(0); // opens all three: the second fails
    writeFileSync(paths[2] as string, 'file 2 grew');
    const buf = Buffer.alloc(64);
    expect(readInto(fd0, buf, 0, 6, noAttrs)?.len).toBe(6);
    expect(readInto(ra.take(1), buf, 0, 6, noAttrs)).toBeNull();
    // Longer than the scanned size: null, the ordinary path reads it in parts.
    expect(readInto(ra.take(2), buf, 0, 6, noAttrs)).toBeNull();
    ra.close();
  });
});

// Read-ahead advice only while reads wait for the disk (CacheGuess): a slow read without it turns
// it on for the files already opened ahead and after; probes turn it off again.
describe('CacheGuess', () => {
  const SLOW = COLD_READ_MS * 10;
  const FAST = COLD_READ_MS / 10;

  it('advises all but one in 32 while cold, none after two fast probes, all again after two slow reads', () => {
    const g = new CacheGuess();
    const given = Array.from({ length: 64 }, () => g.advise());
    expect(given.filter((a) => !a).length).toBe(2);
    expect(g.read(SLOW)).toBe(false); // a slow probe: still cold
    g.read(FAST);
    expect(g.cold).toBe(true);
    g.read(FAST);
    expect(g.cold).toBe(false);
    expect(g.advise()).toBe(false);
    expect(g.read(SLOW)).toBe(false); // one slow read may have lost the CPU
    expect(g.read(FAST)).toBe(false);
    expect(g.read(SLOW)).toBe(false);
    expect(g.read(SLOW)).toBe(true);
    expect(g.cold).toBe(true);
  });

  it('two slow reads of files opened without advice have the ones opened ahead advised', () => {
    const paths = files(6);
    const g = new CacheGuess();
    g.read(FAST);
    g.read(FAST); // warm
    const advised: number[] = [];
    const ra = new ReadAhead(
      6,
      (i) => ({ abs: paths[i] as string, size: 6 }),
      3,
      g,
      (fd) => advised.push(fd),
    );
    const buf = Buffer.alloc(64);
    const fd0 = ra.take(0);
    expect(advised).toEqual([]); // warm: 0-3 opened without advice
    const got = readInto(fd0, buf, 0, 6, noAttrs);
    expect(got?.took).toBeGreaterThanOrEqual(0);
    ra.readTook(0, SLOW);
    expect(advised).toEqual([]);
    readInto(ra.take(1), buf, 0, 6, noAttrs);
    ra.readTook(1, SLOW);
    expect(advised.length).toBe(3); // 2-4, opened ahead
    readInto(ra.take(2), buf, 0, 6, noAttrs); // opens 5, now with advice
    expect(advised.length).toBe(4);
    ra.close();
  });
});
