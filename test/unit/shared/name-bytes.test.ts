import { describe, expect, it } from 'vitest';
import {
  fsPath,
  nameByteLength,
  nameBytes,
  nameFromBytes,
  nameProblem,
} from '../../../src/shared/name-bytes.js';

const cases: Buffer[] = [
  Buffer.from('plain.txt'),
  Buffer.from('é😀 ünïcödé'),
  Buffer.from([0x66, 0xff, 0xfe]),
  Buffer.from([0xc3]), // a truncated sequence
  Buffer.from([0xc3, 0x28]), // a bad continuation
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-8-encoded surrogate: not valid UTF-8
  Buffer.from([0xc0, 0xaf]), // an overlong '/'
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  Buffer.from([0xef, 0xbf, 0xbd]), // a real U+FFFD stays one
  Buffer.concat([Buffer.from('a'), Buffer.from([0x80]), Buffer.from('😀'), Buffer.from([0xff])]),
  Buffer.from('line\nbreak'),
];

describe('names as bytes (surrogateescape)', () => {
  it('round-trips every byte string exactly', () => {
    for (const b of cases) expect(nameBytes(nameFromBytes(b)).equals(b)).toBe(true);
    for (let i = 0; i < 256; i++) {
      const b = Buffer.from([0x61, i, 0x62]);
      expect(nameBytes(nameFromBytes(b)).equals(b)).toBe(true);
    }
  });

  it('maps only bytes that are not UTF-8, each to U+DC00 + byte', () => {
    expect(nameFromBytes(Buffer.from([0x66, 0xff, 0xfe]))).toBe('f\udcff\udcfe');
    expect(nameFromBytes(Buffer.from('é'))).toBe('é');
    expect(nameFromBytes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe('\ufffd');
  });

  it('survives JSON both ways, escaped as \\udcXY', () => {
    const s = nameFromBytes(Buffer.from([0x66, 0xff]));
    const json = JSON.stringify({ p: s });
    expect(json).toBe('{"p":"f\\udcff"}');
    expect((JSON.parse(Buffer.from(json, 'utf8').toString('utf8')) as { p: string }).p).toBe(s);
  });

  it('gives fs a string unchanged when it holds no escape, else the bytes', () => {
    expect(fsPath('/a/é')).toBe('/a/é');
    expect(fsPath('/a/f\udcff')).toEqual(Buffer.from([0x2f, 0x61, 0x2f, 0x66, 0xff]));
  });

  it('measures names in bytes', () => {
    expect(nameByteLength('f\udcff\udcfe')).toBe(3);
    expect(nameByteLength('é')).toBe(2);
  });

  it('refuses a lone surrogate that stands for no byte', () => {
    expect(nameProblem('a\ud800')).toMatch(/lone surrogate U\+D800/);
    expect(nameProblem('a\udc10')).toMatch(/lone surrogate/);
    expect(nameProblem('a\udcff😀')).toBeNull();
    expect(() => nameBytes('a\ud800')).toThrow(/lone surrogate/);
  });
});
