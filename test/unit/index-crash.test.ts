// kill -9 at random moments: a child process commits batches (puts with block hashes, subtree
// renames and deletes, dirty marks, meta) in a loop, with a tiny page cache so SQLite spills
// uncommitted pages into the WAL mid-batch. After each kill the index must pass SQLite's
// integrity check, hold every batch the child saw commit, and equal a clean replay of exactly
// the batches it says it holds: nothing half-applied. The next child carries on from there.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathIndex } from '../../src/index/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_INDEX = path.join(ROOT, 'dist/index/index.js');
const ROUNDS = 8;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smr-index-crash-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The deterministic batch `n`: what both the child and the clean replay apply. */
const WORKLOAD = `
const p = (s) => Buffer.from(s, 'latin1');
function entry(n, i) {
  return { type: i % 17 ? 'file' : 'dir', size: n * 1000 + i, mtimeNs: BigInt(n) * 1000000007n + BigInt(i),
    mode: 0o100644, uid: n % 5, gid: i % 3, dev: 7n, ino: BigInt(n) * 1000n + BigInt(i), rdev: 0n,
    link: null, sha256: i % 3 ? null : Buffer.alloc(32, n % 251), attrDigest: null, seq: n,
    ctimeNs: BigInt(n) * 7n };
}
function blocks(n, i) {
  const hashes = new BigUint64Array(1 + ((n + i) % 300));
  for (let k = 0; k < hashes.length; k++) hashes[k] = BigInt(n) * 65537n + BigInt(k * 31 + i);
  return { blockSize: 16384, size: hashes.length * 16384, hashes };
}
export function batch(idx, n) {
  const d = n % 13;
  for (let i = 0; i < 120; i++) {
    idx.put(p('t' + d + '/s' + (i % 10) + '/f' + n + '-' + i + (i % 7 ? '' : '\\xff')), entry(n, i),
      i % 4 ? undefined : blocks(n, i));
  }
  if (n % 5 === 0) {
    const from = 't' + ((n * 7) % 13), to = 't' + ((n * 11 + 3) % 13);
    if (from !== to) idx.renameTree(p(from), p(to), n);
  }
  if (n % 3 === 0) idx.deleteTree(p('t' + ((n * 5) % 13) + '/s' + (n % 10)), n);
  idx.markDirty(p('t' + d + '/f' + n), 1 + (n % 2));
  if (n > 3) idx.clearDirty(p('t' + ((n - 3) % 13) + '/f' + (n - 3)));
  idx.setIndexedSeq(n);
}
/** The ack recorded (outside the batch, durably) after batch n, if any. */
export const ackAfter = (n) => (n % 10 === 0 ? n - 7 : null);
`;

function childScript(indexModule: string, workload: string): string {
  return `
import { PathIndex } from ${JSON.stringify(pathToFileURL(indexModule).href)};
import { ackAfter, batch } from ${JSON.stringify(pathToFileURL(workload).href)};
const idx = PathIndex.open(process.argv[2], { cacheBytes: 256 * 1024 });
process.stdout.write('ready\\n');
for (let n = idx.meta().indexedSeq + 1; ; n++) {
  idx.transaction(() => batch(idx, n));
  if (ackAfter(n) !== null) idx.setAckedSeq(ackAfter(n));
  process.stdout.write(n + '\\n'); // a pipe: written synchronously, before the next batch
}
`;
}

/** Runs the child until it is SIGKILLed `delayMs` after its first batch; the last n it saw. */
function runAndKill(script: string, file: string, delayMs: number): Promise<number> {
  const proc = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = 0;
  let buf = '';
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') continue;
        // Timed from the first batch it committed: on a busy machine a kill timed from 'ready'
        // could come before any, and the round would prove nothing.
        if (last === 0) setTimeout(() => proc.kill('SIGKILL'), delayMs);
        last = Math.max(last, Number(line));
      }
    });
    // 'close', not 'exit': the last lines may still be in the pipe when the process is gone.
    proc.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child ended by itself: ${signal}`)),
    );
  });
}

/** Every row of the index as one line each: entries with their block hashes, marks, tombstones. */
function* lines(idx: PathIndex): Generator<string> {
  const big = (_k: string, v: unknown): unknown =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
  yield JSON.stringify(idx.meta());
  for (const r of idx.entries()) {
    const blocks = r.entry.type === 'file' ? idx.getBlocks(r.path) : null;
    const hashes = blocks ? Buffer.from(blocks.hashes.buffer).toString('hex') : '';
    yield `${r.path.toString('latin1')} ${JSON.stringify(r.entry, big)} ${blocks?.size} ${hashes}`;
  }
  for (const d of idx.dirtyPaths()) yield `dirty ${d.path.toString('latin1')} ${d.flags}`;
  for (const t of idx.tombstonesAbove(0)) yield `gone ${t.path.toString('latin1')} ${t.seq}`;
}

/** The first row where two indexes differ, or null when they hold the same. */
function firstDifference(a: PathIndex, b: PathIndex): string | null {
  const ia = lines(a);
  const ib = lines(b);
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done && y.done) return null;
    if (x.value !== y.value) return `crashed: ${x.value}\nreplayed: ${y.value}`;
  }
}

describe('index: kill -9', () => {
  it('keeps every committed batch and never a half-applied one', async () => {
    if (!fs.existsSync(DIST_INDEX)) {
      // `npm test` builds first; this only runs when the test is started on its own.
      spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    }
    expect(fs.existsSync(DIST_INDEX)).toBe(true);
    const workload = path.join(dir, 'workload.mjs');
    const script = path.join(dir, 'child.mjs');
    fs.writeFileSync(workload, WORKLOAD);
    fs.writeFileSync(script, childScript(DIST_INDEX, workload));
    const { ackAfter, batch } = (await import(pathToFileURL(workload).href)) as {
      ackAfter: (n: number) => number | null;
      batch: (idx: PathIndex, n: number) => void;
    };
    const file = path.join(dir, 'crash', 'index.db');
    const ref = PathIndex.open(path.join(dir, 'ref', 'index.db'));
    try {
      let held = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const delay = 40 + Math.floor(Math.random() * 400);
        const seen = await runAndKill(script, file, delay);
        const idx = PathIndex.open(file);
        try {
          expect(idx.integrityCheck(), `round ${round}, killed after ${delay} ms`).toEqual([]);
          const now = idx.meta().indexedSeq;
          expect(now).toBeGreaterThanOrEqual(seen); // every batch it saw commit is there
          expect(now).toBeLessThanOrEqual(seen + 1); // at most the one it had no time to print
          expect(now).toBeGreaterThan(held); // progress was made this round
          ref.transaction(() => {
            for (let n = held + 1; n <= now; n++) batch(ref, n);
          });
          held = now;
          // Acks only trim tombstones below them, so the latest one stands for all before it; the
          // kill may have come between a batch and its ack, and acks are simply given again.
          let ack: number | null = null;
          for (let n = now; n > 0 && ack === null; n--) ack = ackAfter(n);
          if (ack !== null) {
            ref.setAckedSeq(ack);
            idx.setAckedSeq(ack);
          }
          expect(firstDifference(idx, ref)).toBeNull();
        } finally {
          idx.close();
        }
      }
      expect(ref.count()).toBeGreaterThan(1000);
    } finally {
      ref.close();
    }
  });
});
