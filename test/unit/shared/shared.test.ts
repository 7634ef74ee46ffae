// Shared helpers: duration/size/rate parsing, the two-slot durable counter, key files, and
// tree digests.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import { parseDuration, parseRate, parseSize } from '../../../src/shared/units.js';
import { DurableCounter } from '../../../src/shared/durable-counter.js';
import { generateKey, readKeyFile, writeKeyFile } from '../../../src/shared/key.js';
import { diffDigests, treeDigest, type DigestEntry } from '../../../src/shared/tree-digest.js';

const posix = process.platform !== 'win32';
let dir: string;
const counters: DurableCounter[] = [];

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-shared-'));
});

afterEach(async () => {
  for (const c of counters.splice(0)) await c.close().catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SmrError ? err.code : 'not-smr-error';
  }
  return undefined;
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (err: unknown) => (err instanceof SmrError ? err.code : 'not-smr-error'),
  );
}

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('refuses bad units and unitless non-zero durations as usage', () => {
    for (const t of ['5x', '10', '', 's', '-5s', '10 minutes']) {
      expect(
        codeOf(() => parseDuration(t)),
        t,
      ).toBe('usage');
    }
  });

  it('parses sizes', () => {
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('500KiB')).toBe(500 * 1024);
    expect(parseSize('10MiB')).toBe(10 * 1024 ** 2);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('12b')).toBe(12);
    for (const t of ['10XB', 'MiB', '', '-1KiB', 'ten']) {
      expect(
        codeOf(() => parseSize(t)),
        t,
      ).toBe('usage');
    }
  });

  it('parses rates', () => {
    expect(parseRate('10MiB/s')).toBe(10 * 1024 ** 2);
    expect(parseRate('500KiB/s')).toBe(500 * 1024);
    expect(parseRate('1000')).toBe(1000);
    for (const t of ['0/s', '0', 'fast', '10MiB/h', '10QiB/s']) {
      expect(
        codeOf(() => parseRate(t)),
        t,
      ).toBe('usage');
    }
  });
});

describe('DurableCounter', () => {
  const SLOT = 32;

  async function open(file = path.join(dir, 'counter')): Promise<DurableCounter> {
    const c = await DurableCounter.open(file);
    counters.push(c);
    return c;
  }

  async function reopen(c: DurableCounter): Promise<DurableCounter> {
    await c.close();
    counters.splice(counters.indexOf(c), 1);
    return open();
  }

  /** Flips one byte inside a slot's checksummed bytes. */
  async function corruptSlot(i: number): Promise<void> {
    const file = path.join(dir, 'counter');
    const buf = await fsp.readFile(file);
    buf[i * SLOT + 10] = (buf[i * SLOT + 10] ?? 0) ^ 0xff;
    await fsp.writeFile(file, buf);
  }

  it('starts at 0 and keeps value and tag across reopen', async () => {
    const c = await open();
    expect(c.value).toBe(0);
    expect(c.tag).toBe(0);
    await c.set(5, 77);
    expect(c.value).toBe(5);
    const d = await reopen(c);
    expect(d.value).toBe(5);
    expect(d.tag).toBe(77);
    // set without a tag keeps the old one.
    await d.set(6);
    const e = await reopen(d);
    expect([e.value, e.tag]).toEqual([6, 77]);
  });

  it('falls back to the other slot when one is damaged', async () => {
    const c = await open();
    await c.set(1, 9); // generation 1 -> slot 1
    await c.set(2, 9); // generation 2 -> slot 0
    await c.close();
    counters.splice(0);
    await corruptSlot(0);
    const d = await open();
    expect([d.value, d.tag]).toEqual([1, 9]);
  });

  it('keeps the newest value when the older slot is damaged, and continues generations', async () => {
    const c = await open();
    await c.set(1);
    await c.set(2);
    const d = await reopen(c);
    await d.set(3); // must go to the slot not holding 2
    await d.close();
    counters.splice(0);
    await corruptSlot(0); // slot 0 held 2, the older value now
    expect((await open()).value).toBe(3);
  });

  it('reads 0 when both slots are damaged', async () => {
    const c = await open();
    await c.set(1);
    await c.set(2);
    await c.close();
    counters.splice(0);
    await corruptSlot(0);
    await corruptSlot(1);
    expect((await open()).value).toBe(0);
  });
});

describe('key files', () => {
  it('generates distinct 64-hex-digit keys', () => {
    const a = generateKey();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateKey()).not.toBe(a);
  });

  it('writes a 0600 file and reads the key back', async () => {
    const file = path.join(dir, 'smr.key');
    const key = generateKey();
    await writeKeyFile(file, key);
    if (posix) expect((await fsp.stat(file)).mode & 0o777).toBe(0o600);
    const buf = await readKeyFile(file);
    expect(buf.length).toBe(32);
    expect(buf.toString('hex')).toBe(key);
  });

  it('refuses to overwrite an existing file', async () => {
    const file = path.join(dir, 'smr.key');
    await fsp.writeFile(file, 'precious');
    expect(await codeOfAsync(writeKeyFile(file, generateKey()))).toBe('usage');
    expect(await fsp.readFile(file, 'utf8')).toBe('precious');
  });

  it('refuses files that do not hold a key, and missing files', async () => {
    const file = path.join(dir, 'bad.key');
    for (const text of ['z'.repeat(64), 'ab'.repeat(31), 'ab'.repeat(33), '']) {
      await fsp.writeFile(file, text, { mode: 0o600 });
      expect(await codeOfAsync(readKeyFile(file)), text).toBe('config');
    }
    expect(await codeOfAsync(readKeyFile(path.join(dir, 'missing')))).toBe('config');
  });

  it.skipIf(!posix)('refuses a key file group or others can access, naming the fix', async () => {
    const file = path.join(dir, 'loose.key');
    await writeKeyFile(file, generateKey());
    for (const mode of [0o640, 0o604, 0o660, 0o602]) {
      await fsp.chmod(file, mode);
      const err = await readKeyFile(file).catch((e: unknown) => e as SmrError);
      expect(err, mode.toString(8)).toBeInstanceOf(SmrError);
      expect((err as SmrError).code).toBe('permission');
      expect((err as SmrError).hint).toBe(`run: chmod 600 ${file}`);
    }
    await fsp.chmod(file, 0o400);
    expect((await readKeyFile(file)).length).toBe(32);
  });
});

describe('tree digests', () => {
  const file = (sha256: string, size = 1): DigestEntry => ({
    type: 'file',
    mode: 0o644,
    size,
    sha256,
  });

  it('reports missing, extra and differing entries', () => {
    const a = new Map<string, DigestEntry>([
      ['same', file('aa')],
      ['gone', file('bb')],
      ['changed', file('cc')],
      ['d', { type: 'dir', mode: 0o755, size: 0 }],
    ]);
    const b = new Map<string, DigestEntry>([
      ['same', file('aa')],
      ['changed', file('cd')],
      ['new', file('ee')],
      ['d', { type: 'dir', mode: 0o700, size: 0 }],
    ]);
    const diff = diffDigests(a, b);
    expect(diff).toHaveLength(4);
    expect(diff).toContain('missing on target: gone');
    expect(diff).toContain('extra on target: new');
    expect(diff.filter((l) => l.startsWith('differs: changed '))).toHaveLength(1);
    expect(diff.filter((l) => l.startsWith('differs: d '))).toHaveLength(1);
    expect(diffDigests(a, new Map(a))).toEqual([]);
  });

  it('digests a real tree without following links, and equal trees do not differ', async () => {
    for (const root of ['x', 'y']) {
      const r = path.join(dir, root);
      await fsp.mkdir(path.join(r, 'sub'), { recursive: true });
      await fsp.writeFile(path.join(r, 'sub/f.txt'), 'hello');
      await fsp.symlink('/nowhere', path.join(r, 'link'));
    }
    const x = await treeDigest(path.join(dir, 'x'));
    expect([...x.keys()].sort()).toEqual(['link', 'sub', 'sub/f.txt']);
    expect(x.get('link')).toMatchObject({ type: 'symlink', link: '/nowhere' });
    expect(x.get('sub/f.txt')).toMatchObject({ type: 'file', size: 5 });
    expect(diffDigests(x, await treeDigest(path.join(dir, 'y')))).toEqual([]);
    await fsp.writeFile(path.join(dir, 'y/sub/f.txt'), 'hellO');
    expect(diffDigests(x, await treeDigest(path.join(dir, 'y')))).toHaveLength(1);
  });
});
