// Small files read and hashed on a worker thread, many per message. A no-change checksum mirror
// of small files spent most of both daemons' main threads in open/read/fstat/close and sha256
// (source: readSmallStat and the block hashes; target: the `sums` request's fileSha256), one
// core each while the walk, the index and the wire waited behind it. The worker does exactly
// what the inline path does (small-file.ts: readSmallStat, readSmallFileSync) and hands back
// the digests and the stat taken on the open file after the read, packed per batch; anything
// it does not settle (a large file, an error) the caller takes through the general path.
import { Worker } from 'node:worker_threads';
import { fstatatPlan, type FstatatPlan } from '../shared/fstatat-plan.js';
import { fsPath } from '../shared/name-bytes.js';
import { stopWorker } from '../shared/stop-worker.js';
import { xxhashModule } from './hash.js';
import { SMALL_FILE_BYTES } from './small-file.js';
import { WORKER_SOURCE, FIELDS, type Kind, type Reply } from './hash-worker.js';

/** The stat a worker took on the open file after reading it (the numbers Node's Stats hold). */
export interface SeenStat {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  isFile(): boolean;
}

const S_IFMT = 0o170000;

class PackedSeen implements SeenStat {
  constructor(
    readonly dev: number,
    readonly ino: number,
    readonly mode: number,
    readonly nlink: number,
    readonly uid: number,
    readonly gid: number,
    readonly rdev: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
  ) {}
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
}

/** A small file's hashes as hashBlocks gives them, and the stat after the read. */
export interface SmallHashed {
  size: number;
  blockSize: number;
  hashes: BigUint64Array;
  sha256: string;
  st: SeenStat;
}

/** A `sums` entry: size and sha256, null (not a regular file), or 'retry' (the general path). */
export type SmallSum = { size: number; sha256: string } | null | 'retry';

/** Paths as one Buffer, each one's bytes ended by a NUL. */
function joinPaths(paths: readonly string[]): Buffer {
  const named = paths.map(fsPath);
  // The common case (no name that is not UTF-8): one string, one encoding, not two Buffers each.
  if (named.every((p) => typeof p === 'string')) return Buffer.from(`${named.join('\0')}\0`);
  const parts: Buffer[] = [];
  for (const b of named) parts.push(typeof b === 'string' ? Buffer.from(b) : b, Buffer.of(0));
  return Buffer.concat(parts);
}

/**
 * One worker thread hashing batches of small files, in order. A pool whose worker cannot start
 * or fails answers null for every batch from then on: the caller hashes inline (same results).
 * The worker is unref'd while idle, never what keeps a process up.
 */
export class HashPool {
  private worker: Worker | null = null;
  private broken = false;
  private nextId = 0;
  private readonly waiting = new Map<number, (r: Reply | null) => void>();

  /** `plan`: how the worker opens files relative to their directory (null: by path, through fs). */
  constructor(private readonly plan: FstatatPlan | null = fstatatPlan()) {}

  /**
   * hashSmallStat of each path (its expected size beside it), with `blockSize` blocks: an
   * entry's hashes and the stat taken on the open file after the read, or null where the inline
   * path would return null (not small, not a regular file, not that size, an error). Null as a
   * whole: no worker; hash inline.
   */
  async blocks(
    paths: readonly string[],
    sizes: readonly number[],
    blockSize: number,
  ): Promise<Array<SmallHashed | null> | null> {
    const r = await this.ask('blocks', paths, Float64Array.from(sizes), blockSize);
    if (!r) return null;
    let h = 0;
    return paths.map((_, i) => {
      const f = (k: number): number => r.out[i * FIELDS + k] as number;
      if (f(0) !== 1) return null;
      const n = f(11);
      const hashes = r.hashes.slice(h, h + n);
      h += n;
      const st = new PackedSeen(f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8), f(9), f(10));
      return { size: st.size, blockSize, hashes, sha256: r.sha[i] as string, st };
    });
  }

  /**
   * fileSha256 of each path for small files: 'retry' where the inline path would go on to a
   * large file's stream or throw (the caller calls fileSha256 for it). Null as a whole: no worker.
   */
  async sums(paths: readonly string[]): Promise<SmallSum[] | null> {
    const r = await this.ask('sums', paths, new Float64Array(paths.length), 0);
    if (!r) return null;
    return paths.map((_, i) => {
      const status = r.out[i * FIELDS];
      if (status === 1)
        return { size: r.out[i * FIELDS + 8] as number, sha256: r.sha[i] as string };
      return status === 0 ? null : 'retry';
    });
  }

  /** Ends the worker (asked to stop: it may hold koffi, stop-worker.ts); batches still out answer null. */
  close(): void {
    this.broken = true;
    const w = this.worker;
    this.worker = null;
    if (w) stopWorker(w);
    for (const id of [...this.waiting.keys()]) this.settle(id, null);
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { xxhash: xxhashModule(), small: SMALL_FILE_BYTES, plan: this.plan },
      });
      w.unref();
      w.on('message', (r: Reply) => this.settle(r.id, r));
      w.on('error', () => this.close());
      w.on('exit', () => this.close());
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private ask(
    kind: Kind,
    paths: readonly string[],
    sizes: Float64Array,
    blockSize: number,
  ): Promise<Reply | null> {
    const w = this.start();
    if (!w || paths.length === 0) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((ok) => {
      this.waiting.set(id, ok);
      w.ref(); // a batch out holds the process up until its reply
      const bytes = joinPaths(paths);
      w.postMessage({ id, kind, bytes, sizes, n: paths.length, blockSize });
    });
  }

  private settle(id: number, r: Reply | null): void {
    const ok = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
    ok?.(r);
  }
}

let shared: HashPool | null = null;

/** The process's pool (one worker: the main thread and it keep two cores busy). */
export function hashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
