// The target's `sums` answer: size and sha256 of each regular file named, small ones hashed on the
// hash pool's worker and the rest inline, null for anything else (not followed, not waited on,
// not reached through a symlinked parent), each path once, in the order asked.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SMALL_FILE_BYTES } from '../../../src/delta/small-file.js';
import { Confiner } from '../../../src/target/confine.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';
import { answerRequest } from '../../../src/target/requests.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'smr-tsums-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe("the target's sums", () => {
  it('hashes regular files of every size, in order, and nothing else', async () => {
    const big = Buffer.alloc(SMALL_FILE_BYTES + 5, 3);
    writeFileSync(path.join(base, 'small'), 'hello');
    writeFileSync(path.join(base, 'empty'), '');
    writeFileSync(path.join(base, 'big'), big);
    mkdirSync(path.join(base, 'd'));
    writeFileSync(path.join(base, 'd', 'in'), 'inside');
    symlinkSync('small', path.join(base, 'link'));
    symlinkSync('d', path.join(base, 'dlink'));
    execFileSync('mkfifo', [path.join(base, 'fifo')]);
    const paths = ['small', 'big', 'd', 'link', 'dlink/in', 'fifo', 'gone', 'empty', 'd/in'];
    const cf = new Confiner(base, new ModePolicy(false));
    const r = await answerRequest(
      cf,
      { op: 'sums', paths: [...paths, 'small'] },
      Buffer.alloc(0),
      new Map(),
    );
    expect(r.header.sums).toEqual([
      [5, sha('hello')],
      [big.length, sha(big)],
      null,
      null,
      null, // through a symlinked parent: refused, so not hashed
      null,
      null,
      [0, sha('')],
      [6, sha('inside')],
      [5, sha('hello')],
    ]);
  });
});
