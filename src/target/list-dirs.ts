// Worker threads that list the replica's directories for a LIST (listing.ts): each directory on
// one of them, a few ahead of the main thread, which only builds the entries (list-worker.ts says
// what they read and why). A worker that fails leaves its directories to the inline path.
import { Worker } from 'node:worker_threads';
import { fstatatPlan } from '../fsmeta/index.js';
import { stopWorker } from '../shared/stop-worker.js';
import { FIELDS, LIST_WORKER, XATTR_CALLS } from './list-worker.js';

/**
 * A directory listed, packed as the worker sends it: name i is `bytes` from `nameStart(d, i)` to
 * `ends[i]` (a NUL follows each), its FIELDS numbers from `out[i * FIELDS]` (list-worker.ts).
 */
export interface DirNames {
  bytes: Buffer;
  /** Where name 0 starts in `bytes`. */
  first: number;
  ends: Uint32Array;
  out: Float64Array;
}

/** Where name `i` of `d` starts in its bytes. */
export function nameStart(d: DirNames, i: number): number {
  return i > 0 ? (d.ends[i - 1] as number) + 1 : d.first;
}

interface Reply {
  dirs: Array<{ id: number; n: number }>;
  joined: Uint8Array;
  ends: Uint32Array;
  out: Float64Array;
}

/** Each listing of a batch, with the id it was asked under: views of the batch's arrays. */
function unpack(r: Reply): Array<[number, DirNames]> {
  const bytes = Buffer.from(r.joined.buffer, r.joined.byteOffset, r.joined.byteLength);
  let at = 0;
  return r.dirs.map((d) => {
    const first = at > 0 ? (r.ends[at - 1] as number) + 1 : 0;
    const l: DirNames = {
      bytes,
      first,
      ends: r.ends.subarray(at, at + d.n),
      out: r.out.subarray(at * FIELDS, (at + d.n) * FIELDS),
    };
    at += d.n;
    return [d.id, l];
  });
}

/** The listing's workers; `list` answers null for a directory the inline path must list. */
export class ListWorkers {
  private readonly workers: Worker[] = [];
  private failed = false;
  private nextId = 0;
  private readonly waiting = new Map<number, (d: DirNames | null) => void>();
  private readonly outboxes: Array<Array<{ id: number; dir: Uint8Array }>> = [];

  private constructor() {}

  /** `threads` workers, or null where they cannot run (no fstatat plan here, or no thread). */
  static start(threads = 2): ListWorkers | null {
    const plan = fstatatPlan();
    if (!plan) return null;
    const pool = new ListWorkers();
    try {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(LIST_WORKER, {
          eval: true,
          workerData: { plan, calls: XATTR_CALLS },
        });
        w.on('message', (r: Reply) => {
          for (const [id, d] of unpack(r)) pool.settle(id, d);
        });
        w.on('error', () => pool.fail());
        w.on('exit', () => pool.fail());
        pool.workers.push(w);
        pool.outboxes.push([]);
      }
    } catch {
      pool.close();
      return null;
    }
    return pool;
  }

  /** The listing of `dir` (its path's bytes); null once a worker failed. */
  list(dir: Buffer): Promise<DirNames | null> {
    if (this.failed) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((ok) => {
      this.waiting.set(id, ok);
      const box = this.outboxes[id % this.workers.length] as Array<{ id: number; dir: Uint8Array }>;
      // A copy of its own: a Buffer from Node's pool would take the whole pool along.
      box.push({ id, dir: new Uint8Array(dir) });
      // What a worker is asked in one turn goes in one message.
      if (box.length === 1) queueMicrotask(() => this.flush());
    });
  }

  /** Ends the workers; whatever was still asked is answered null. */
  close(): void {
    this.fail();
  }

  private flush(): void {
    this.workers.forEach((w, i) => {
      const dirs = (this.outboxes[i] as Array<{ id: number; dir: Uint8Array }>).splice(0);
      if (dirs.length) w.postMessage(dirs);
    });
  }

  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    for (const w of this.workers) stopWorker(w); // not terminate(): shared/stop-worker.ts
    for (const [id] of [...this.waiting]) this.settle(id, null);
  }

  private settle(id: number, d: DirNames | null): void {
    const ok = this.waiting.get(id);
    this.waiting.delete(id);
    ok?.(d);
  }
}
