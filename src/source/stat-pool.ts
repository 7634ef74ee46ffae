// lstat of many paths at once, on a worker thread once a walk is big enough to pay for one. A
// reconciliation's walk spent a fifth of its time in lstat and a good part of its garbage
// collection on the four Date objects Node builds per Stats, all on the main thread while the
// second core sat idle; the worker does both and hands back the few numbers a comparison reads,
// packed in one Float64Array per batch. Exactness: each number is the one Node's own Stats hold
// (the worker reads them from a Stats), so a comparison sees the same values either way.
import { lstatSync, type Stats } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** What a walk's comparisons read of an lstat (a Stats has all of it). */
export type WalkStat = Pick<
  Stats,
  | 'dev'
  | 'ino'
  | 'mode'
  | 'size'
  | 'mtimeMs'
  | 'ctimeMs'
  | 'isFile'
  | 'isDirectory'
  | 'isSymbolicLink'
>;

/** An lstat: the stat, null when the name is gone, or the error's code when it cannot be read. */
export type StatResult = WalkStat | string | null;

const S_IFMT = 0o170000;

/** A stat as the worker packed it. */
class PackedStat implements WalkStat {
  constructor(
    readonly mode: number,
    readonly dev: number,
    readonly ino: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
  ) {}
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
}

/** Numbers per path in a reply: status (0 gone, 1 stat, 2 error), then PackedStat's fields. */
const FIELDS = 7;

/**
 * What lstat says of a walked name: null when it is gone meanwhile, the error's code when it
 * cannot be read (ENAMETOOLONG past PATH_MAX, EACCES): such an entry is not silently left out.
 */
export function lstatResult(p: string | Buffer): Stats | string | null {
  try {
    return lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' || code === 'ENOTDIR' ? null : code;
  }
}

/** The lstats of `n` NUL-ended paths, on this thread. */
function inline(joined: Buffer, n: number): StatResult[] {
  const out: StatResult[] = [];
  for (let i = 0, start = 0; i < n; i++) {
    const end = joined.indexOf(0, start);
    out.push(lstatResult(joined.subarray(start, end)));
    start = end + 1;
  }
  return out;
}

// The worker, as source text: it must run from dist/ and under the tests' TypeScript alike, and
// needs nothing but fs. Paths arrive as one Buffer, each path's bytes ended by a NUL.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { lstatSync } = require('node:fs');
parentPort.on('message', ({ id, bytes, n }) => {
  const paths = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n * ${FIELDS});
  const codes = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = paths.indexOf(0, start);
    const o = i * ${FIELDS};
    try {
      const st = lstatSync(paths.subarray(start, end));
      out[o] = 1; out[o + 1] = st.mode; out[o + 2] = st.dev; out[o + 3] = st.ino;
      out[o + 4] = st.size; out[o + 5] = st.mtimeMs; out[o + 6] = st.ctimeMs;
    } catch (err) {
      const code = (err && err.code) || 'error';
      if (code !== 'ENOENT' && code !== 'ENOTDIR') { out[o] = 2; codes.push(code); }
    }
    start = end + 1;
  }
  parentPort.postMessage({ id, out, codes }, [out.buffer]);
});
`;

interface Reply {
  id: number;
  out: Float64Array;
  codes: string[];
}

/**
 * lstat of batches of paths, in order. Inline until `inlineFirst` paths were asked for (a small
 * tree never starts a thread); then on a worker. A worker that cannot start or fails has its
 * batches, and every later one, done inline: the results are the same, only slower.
 */
export class StatPool {
  private worker: Worker | null = null;
  private broken = false;
  private asked = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, (r: Reply | null) => void>();

  constructor(private readonly inlineFirst = 4096) {}

  /** The lstat of each of `n` paths, given as their bytes each followed by a NUL, in order. */
  async many(joined: Buffer, n: number): Promise<StatResult[]> {
    this.asked += n;
    // Started half-way through the inline part: its start-up overlaps the lstats still done here.
    if (this.asked * 2 > this.inlineFirst) this.start();
    const w = this.asked > this.inlineFirst ? this.start() : null;
    const reply = w && (await this.ask(w, joined, n));
    if (!reply) return inline(joined, n);
    const { out, codes } = reply;
    let code = 0;
    return Array.from({ length: n }, (_, i) => {
      const o = i * FIELDS;
      if (out[o] === 0) return null;
      if (out[o] === 2) return codes[code++] ?? 'error';
      const f = (k: number): number => out[o + k] as number;
      return new PackedStat(f(1), f(2), f(3), f(4), f(5), f(6));
    });
  }

  /** Ends the worker (batches still waiting are done inline). */
  close(): void {
    this.broken = true;
    void this.worker?.terminate();
    this.worker = null;
    this.fail();
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(WORKER, { eval: true });
      w.unref(); // idle, never what keeps the process up (ask holds it while a batch is out)
      w.on('message', (r: Reply) => this.settle(r.id, r));
      w.on('error', () => this.close());
      w.on('exit', () => this.close());
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private ask(w: Worker, joined: Buffer, n: number): Promise<Reply | null> {
    const id = this.nextId++;
    // Copied, not moved: a worker that fails leaves its batch to be done inline, from these.
    return new Promise((ok) => {
      this.waiting.set(id, ok);
      w.ref();
      w.postMessage({ id, bytes: joined, n });
    });
  }

  private settle(id: number, r: Reply | null): void {
    const ok = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
    ok?.(r);
  }

  private fail(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, null);
  }
}
