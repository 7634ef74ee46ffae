// A directory's names in path order (sorted by their bytes), each with its lstat, listed on a
// worker thread once a walk is big enough to pay for one (walk-chunks.ts). A no-change restart's
// main thread was its bottleneck, a quarter of it in readdir, the sort, the lstat of each
// directory and the garbage of a Dirent per name, while the worker only stat'ed: now the worker
// lists as well, a few directories ahead, and the main thread only merges. The caller asks for a
// directory only once it watches it (restart.ts): watched, then listed, as before.
//
// Exactness: the names are readdir's bytes; each stat is the one StatPool's worker takes
// (fstatat relative to the directory's fd, numbers as Node computes its Stats', or Node's lstat).
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fstatatPlan, type FstatatPlan } from '../fsmeta/index.js';
import { STAT_WORKER, lstatResult, unpackStats, type StatResult } from './stat-pool.js';

/** A directory listed: its names in order and their lstats; or why it could not be listed. */
export type Listing = { names: Buffer[]; stats: StatResult[] } | { error: string };

/** The names of a directory, sorted by their bytes (as the index orders keys). */
function sortedNames(dir: Buffer): Buffer[] {
  return readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
}

/** A listing on this thread. */
export function listInline(dir: Buffer): Listing {
  let names: Buffer[];
  try {
    names = sortedNames(dir);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  const slash = Buffer.from('/');
  return { names, stats: names.map((n) => lstatResult(Buffer.concat([dir, slash, n]))) };
}

// The worker: StatPool's stat code (STAT_WORKER, which defines statNames) behind a readdir and
// a sort; one reply per directory, its names' bytes packed into one buffer.
const WORKER = `${STAT_WORKER}
parentPort.on('message', (dirs) => {
  for (const { id, dir } of dirs) {
    const d = Buffer.from(dir.buffer, dir.byteOffset, dir.byteLength);
    let names;
    try {
      names = readdirSync(d, { encoding: 'buffer' }).sort(Buffer.compare);
    } catch (err) {
      parentPort.postMessage({ id, error: (err && err.code) || 'error' });
      continue;
    }
    const ends = new Uint32Array(names.length);
    let len = 0;
    names.forEach((n, i) => (ends[i] = len += d.length + n.length + 2));
    // Its own memory (not the pool's), moved to the main thread, not copied.
    const joined = Buffer.allocUnsafeSlow(len);
    let pos = 0;
    for (const n of names) {
      pos += d.copy(joined, pos); joined[pos++] = 0x2f; pos += n.copy(joined, pos); joined[pos++] = 0;
    }
    const { out, codes } = statNames(joined, names.length);
    const moved = [out.buffer, ends.buffer, joined.buffer];
    parentPort.postMessage({ id, joined, ends, dirLen: d.length, out, codes }, moved);
  }
});
`;

interface Reply {
  id: number;
  error?: string;
  /** Each name as its full path (the directory's bytes, '/', the name), then a NUL. */
  joined?: Uint8Array;
  ends?: Uint32Array;
  dirLen?: number;
  out?: Float64Array;
  codes?: string[];
}

function unpack(r: Reply): Listing {
  if (r.error !== undefined) return { error: r.error };
  const joined = Buffer.from(r.joined!.buffer, r.joined!.byteOffset, r.joined!.byteLength);
  const ends = r.ends!;
  const names: Buffer[] = [];
  // Each name sits after its directory's bytes and '/', before the end's NUL.
  for (let i = 0, start = 0; i < ends.length; i++) {
    const end = ends[i] as number;
    names.push(joined.subarray(start + r.dirLen! + 1, end - 1));
    start = end;
  }
  return { names, stats: unpackStats(r.out!, r.codes!, names.length) };
}

/**
 * Lists directories: inline until `inlineFirst` names were listed (a small tree never starts a
 * thread), then on a worker. A worker that cannot start or fails has what it was asked, and
 * everything later, listed inline: the same listings, only slower.
 */
export class DirLister {
  private worker: Worker | null = null;
  private broken = false;
  private listed = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, { dir: Buffer; ok: (l: Listing) => void }>();

  constructor(
    private readonly inlineFirst = 4096,
    private readonly plan: FstatatPlan | null = fstatatPlan(),
  ) {}

  /** Directories waiting for their listing. */
  get pending(): number {
    return this.waiting.size;
  }

  /** The listing of `dir` (its path's bytes); asked for now, delivered when ready. */
  list(dir: Buffer): Promise<Listing> {
    const w = this.listed > this.inlineFirst ? this.start() : null;
    if (!w) {
      const l = listInline(dir);
      if ('names' in l) this.listed += l.names.length;
      return Promise.resolve(l);
    }
    const id = this.nextId++;
    return new Promise((ok) => {
      this.waiting.set(id, { dir, ok });
      w.ref();
      // A copy of its own: a Buffer from Node's pool would take the whole pool along.
      w.postMessage([{ id, dir: new Uint8Array(dir) }]);
    });
  }

  /** Ends the worker (what it was still asked is listed inline). */
  close(): void {
    this.broken = true;
    void this.worker?.terminate();
    this.worker = null;
    for (const [id, { dir }] of [...this.waiting]) this.settle(id, listInline(dir));
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(WORKER, { eval: true, workerData: { plan: this.plan } });
      w.unref(); // idle, never what keeps the process up (list holds it while one is out)
      w.on('message', (r: Reply) => this.settle(r.id, unpack(r)));
      w.on('error', () => this.close());
      w.on('exit', () => this.close());
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private settle(id: number, l: Listing): void {
    const wait = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
    wait?.ok(l);
  }
}
