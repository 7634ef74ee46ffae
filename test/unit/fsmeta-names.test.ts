// fsmeta with names as bytes: a name with byte 0xff, one with a newline and one of 255 bytes are
// listed, read, written and linked exactly, and print on one line.
import { chownSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMetaSync,
  displayPath,
  isUtf8,
  joinBytes,
  makeHardLinkSync,
  makeNodeSync,
  readdirBytes,
  readMetaSync,
  setXattr,
  walkBytes,
} from '../../src/fsmeta/index.js';
import { removeTmpDirs, tmpDir } from './fsmeta-tools.js';

afterEach(removeTmpDirs);

const FF = Buffer.from([0x61, 0xff, 0x62]); // "a\xffb": not UTF-8
const NEWLINE = Buffer.from('line1\nline2');
const LONG = Buffer.from('é'.repeat(127) + 'x'); // 255 bytes, the most a Linux name may have

describe('names as bytes', () => {
  it('lists names that are not UTF-8 exactly, sorted by bytes', async () => {
    const d = tmpDir();
    for (const n of [FF, NEWLINE, LONG]) writeFileSync(joinBytes(d, n), n);
    const names = (await readdirBytes(d)).map((e) => e.name);
    expect(names).toEqual([FF, NEWLINE, LONG].sort(Buffer.compare));
    expect(LONG.length).toBe(255);
    expect(isUtf8(FF)).toBe(false);
    // Node's string listing cannot tell the name apart from one with U+FFFD in its place.
    expect(readdirSync(d)).toContain('a\ufffdb');
  });

  it('walks a tree with such names in directories, parents first, never into a symlink', async () => {
    const d = tmpDir();
    const sub = joinBytes(d, FF);
    mkdirSync(sub);
    writeFileSync(joinBytes(sub, NEWLINE), '1');
    mkdirSync(joinBytes(sub, LONG));
    writeFileSync(joinBytes(joinBytes(sub, LONG), FF), '2');
    symlinkSync('.', joinBytes(d, 'loop'));
    const seen: Array<[string, string]> = [];
    for await (const e of walkBytes(d)) seen.push([e.rel.toString('hex'), e.type]);
    const rel = (...parts: Buffer[]): string =>
      parts.reduce((a, b) => joinBytes(a, b)).toString('hex');
    expect(seen).toEqual([
      [rel(FF), 'dir'],
      [rel(FF, NEWLINE), 'file'],
      [rel(FF, LONG), 'dir'],
      [rel(FF, LONG, FF), 'file'],
      [rel(Buffer.from('loop')), 'symlink'],
    ]);
  });

  it('reads and applies metadata, xattrs and ns mtime on such names, and links and mknods them', () => {
    const d = tmpDir();
    const src = joinBytes(d, FF);
    writeFileSync(src, 'x');
    setXattr(src, Buffer.from([0x75, 0x73, 0x65, 0x72, 0x2e, 0xff]), Buffer.from('v')); // "user.\xff"
    chownSync(src, 65534, 65534);
    const dst = joinBytes(d, LONG);
    writeFileSync(dst, 'x');
    const want = { ...readMetaSync(src), mtimeNs: 1_700_000_000_000_000_001n };
    expect(applyMetaSync(dst, want).notApplied).toEqual([]);
    const got = readMetaSync(dst);
    expect([got.uid, got.mtimeNs, got.xattrs]).toEqual([65534, want.mtimeNs, want.xattrs]);
    makeHardLinkSync(dst, joinBytes(d, NEWLINE));
    expect(readMetaSync(joinBytes(d, NEWLINE)).ino).toBe(got.ino);
    expect(
      makeNodeSync(joinBytes(d, Buffer.concat([FF, Buffer.from('.fifo')])), 'fifo', 0o600),
    ).toEqual({ created: true });
    symlinkSync(FF, joinBytes(d, 'link'));
    expect(readMetaSync(joinBytes(d, 'link')).linkTarget).toEqual(FF);
  });

  it('prints any name on one line, distinctly', () => {
    expect(displayPath(FF)).toBe('a\\xffb');
    expect(displayPath(NEWLINE)).toBe('line1\\x0aline2');
    expect(displayPath(Buffer.from('a\\xffb'))).toBe('a\\x5cxffb');
    expect(displayPath('dé/ü')).toBe('dé/ü');
    expect(displayPath(Buffer.from([0xe2, 0x82]))).toBe('\\xe2\\x82');
  });

  it('refuses a path with a NUL byte instead of cutting it short', () => {
    expect(() => readMetaSync(Buffer.from('a\0b'))).toThrow();
    expect(() => setXattr(Buffer.from('/tmp\0/x'), 'user.a', Buffer.from('1'))).toThrow(/NUL byte/);
  });
});
