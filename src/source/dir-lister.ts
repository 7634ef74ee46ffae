// A directory's names in path order (sorted by their bytes), each with its lstat, listed on
// worker threads once a walk is big enough to pay for them (walk-chunks.ts). A no-change
// restart's main thread was its bottleneck, a quarter of it in readdir, the sort, the lstat of
// each directory and the garbage of a Dirent per name, while one worker only stat'ed: now two
// workers list as well, a few directories ahead, each directory on one of them, and the main
// thread only merges. The caller asks for a directory only once it watches it (restart.ts):
// watched, then listed, as before.
//
// Exactness: the names are readdir's bytes; each stat is the one stat-pool.ts's worker code takes
// (fstatat relative to the directory's fd, numbers as Node computes its Stats', or Node's lstat).
import { Worker } from 'node:worker_threads';
import { stopWorker } from '../shared/stop-worker.js';
import { fstatatPlan, type FstatatPlan } from '../fsmeta/index.js';
import { FIELDS, STAT_WORKER, lstatResult, packStat } from './stat-pool.js';
import { sortedNameBytes } from './walk.js';

/**
 * A directory listed, packed as the worker sends it: name i is `bytes` from `start(l, i)` to
 * `ends[i]` (a NUL follows each), its lstat's numbers (the lister's `fields` of them:
 * stat-pool.ts) from `out[i * fields]`, and the error codes of the names that could not be
 * lstat'ed, in order. No object per name: the walk reads them in place (walk-chunks.ts).
 */
export interface Names {
  bytes: Buffer;
  /** Where name 0 starts in `bytes`. */
  first: number;
  ends: Uint32Array;
  out: Float64Array;
  codes: string[];
}

/** A directory listed, or why it could not be. */
export type Listing = Names | { error: string };

/** Where name `i` of `l` starts in its bytes. */
export function nameStart(l: Names, i: number): number {
  return i > 0 ? (l.ends[i - 1] as number) + 1 : l.first;
}

/** A listing on this thread, `fields` numbers per name. */
export function listInline(dir: Buffer, fields = FIELDS): Listing {
  let names: Buffer[];
  try {
    names = sortedNameBytes(dir);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  const slash = Buffer.from('/');
  const ends = new Uint32Array(names.length);
  const out = new Float64Array(names.length * fields);
  const codes: string[] = [];
  let len = 0;
  names.forEach((n, i) => {
    len += n.length;
    ends[i] = len++;
    const st = lstatResult(Buffer.concat([dir, slash, n]));
    if (typeof st === 'string') codes.push(st);
    packStat(st, out, i * fields, fields);
  });
  const bytes = Buffer.concat(names.flatMap((n) => [n, NUL]));
  return { bytes, first: 0, ends, out, codes };
}

const NUL = Buffer.of(0);

// The worker: the stat code (STAT_WORKER, which defines statDir) behind a readdir and a sort.
// Directories asked for are queued and listed in turn; the replies go in batches of about BATCH
// names (or whatever is listed when the queue runs dry): a message, and the buffers moved with
// it, per directory cost the worker more than its stats (~90 µs each) and the main thread
// garbage collections.
const BATCH = 1024;
const WORKER = `${STAT_WORKER}
const queue = [];
let scheduled = false;
parentPort.on('message', (dirs) => {
  // null: stop once what was asked is answered (the port closes, the loop runs dry).
  if (dirs === null) { parentPort.close(); return; }
  queue.push(...dirs);
  if (!scheduled) { scheduled = true; setImmediate(run); }
});
function listOne({ id, dir }) {
  const d = Buffer.from(dir.buffer, dir.byteOffset, dir.byteLength);
  let names;
  try {
    // latin1: a string of one char per byte, so its sort is the bytes' order; a Buffer per name
    // (readdir's 'buffer') cost ~2.3 µs each, three quarters of the readdir.
    names = readdirSync(d, { encoding: 'latin1' }).sort();
  } catch (err) {
    return { id, error: (err && err.code) || 'error', n: 0 };
  }
  // One call for the directory's bytes, not a write per name.
  const joined = Buffer.from(names.length ? names.join('\\0') + '\\0' : '', 'latin1');
  const ends = new Uint32Array(names.length);
  let pos = 0;
  for (let i = 0; i < names.length; i++) {
    pos += names[i].length;
    ends[i] = pos++;
  }
  return { id, n: names.length, joined, ends, ...statDir(d, joined, names.length, names, ends) };
}
function send(batch) {
  let len = 0, n = 0;
  for (const l of batch) { len += l.joined ? l.joined.length : 0; n += l.n; }
  const joined = Buffer.allocUnsafeSlow(len);
  const out = new Float64Array(n * F);
  const ends = new Uint32Array(n);
  const dirs = [], codes = [];
  let pos = 0, at = 0;
  for (const l of batch) {
    dirs.push({ id: l.id, error: l.error, n: l.n, codes: l.n ? l.codes.length : 0 });
    if (!l.n) continue;
    for (let i = 0; i < l.n; i++) ends[at + i] = l.ends[i] + pos;
    pos += l.joined.copy(joined, pos);
    out.set(l.out, at * F);
    at += l.n;
    codes.push(...l.codes);
  }
  parentPort.postMessage({ dirs, joined, ends, out, codes }, [joined.buffer, ends.buffer, out.buffer]);
}
function run() {
  scheduled = false;
  let batch = [], n = 0;
  while (queue.length) {
    const l = listOne(queue.shift());
    batch.push(l);
    if ((n += l.n) >= ${BATCH}) { send(batch); batch = []; n = 0; }
  }
  if (batch.length) send(batch);
}
`;

/** A batch of listings as the worker packs them. */
interface Reply {
  dirs: Array<{ id: number; error?: string; n: number; codes: number }>;
  /** Each name's bytes, then a NUL. */
  joined: Uint8Array;
  /** Where each name's NUL is in `joined`. */
  ends: Uint32Array;
  out: Float64Array;
  codes: string[];
}

/** Each listing of a batch, with the id it was asked under: views of the batch's arrays. */
function unpack(r: Reply, fields: number): Array<[number, Listing]> {
  const bytes = Buffer.from(r.joined.buffer, r.joined.byteOffset, r.joined.byteLength);
  let at = 0;
  let code = 0;
  return r.dirs.map((d) => {
    if (d.error !== undefined) return [d.id, { error: d.error }];
    const first = at > 0 ? (r.ends[at - 1] as number) + 1 : 0;
    const l: Names = {
      bytes,
      first,
      ends: r.ends.subarray(at, at + d.n),
      out: r.out.subarray(at * fields, (at + d.n) * fields),
      codes: r.codes.slice(code, code + d.codes),
    };
    at += d.n;
    code += d.codes;
    return [d.id, l];
  });
}

/**
 * Lists directories: inline until `inlineFirst` names were listed (a small tree never starts a
 * thread), then on a worker. A worker that cannot start or fails has what it was asked, and
 * everything later, listed inline: the same listings, only slower.
 */
export class DirLister {
  private workers: Worker[] = [];
  private broken = false;
  private listed = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, { dir: Buffer; ok: (l: Listing) => void }>();
  /** What each worker is to be asked at the end of this turn. */
  private outboxes: Array<Array<{ id: number; dir: Uint8Array }>> = [];

  constructor(
    private readonly inlineFirst = 4096,
    private readonly plan: FstatatPlan | null = fstatatPlan(),
    /** Worker threads: the stats are most of the work, and the main thread waits on them. */
    private readonly threads = 2,
    /** Numbers per name: FIELDS (a reconciliation's), or FULL_FIELDS (the mirror's scan). */
    readonly fields = FIELDS,
  ) {}

  /** The listing of `dir` (its path's bytes); asked for now, delivered when ready. */
  list(dir: Buffer): Promise<Listing> {
    const started = this.listed > this.inlineFirst && this.start();
    if (!started) {
      const l = listInline(dir, this.fields);
      if ('ends' in l) this.listed += l.ends.length;
      return Promise.resolve(l);
    }
    const id = this.nextId++;
    return new Promise((ok) => {
      this.waiting.set(id, { dir, ok });
      const box = this.outboxes[id % this.workers.length] as Array<{ id: number; dir: Uint8Array }>;
      // A copy of its own: a Buffer from Node's pool would take the whole pool along.
      box.push({ id, dir: new Uint8Array(dir) });
      // What a worker is asked in one turn goes in one message.
      if (box.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    this.workers.forEach((w, i) => {
      const dirs = (this.outboxes[i] as Array<{ id: number; dir: Uint8Array }>).splice(0);
      if (!dirs.length) return;
      w.ref();
      w.postMessage(dirs);
    });
  }

  /** Ends the workers (what they were still asked is listed inline). */
  close(): void {
    this.broken = true;
    for (const w of this.workers) stopWorker(w); // not terminate(): shared/stop-worker.ts
    this.workers = [];
    this.outboxes = [];
    for (const [id, { dir }] of [...this.waiting]) this.settle(id, listInline(dir, this.fields));
  }

  /** True once the workers run. */
  private start(): boolean {
    if (this.workers.length || this.broken) return this.workers.length > 0;
    try {
      for (let i = 0; i < this.threads; i++) {
        const w = new Worker(WORKER, {
          eval: true,
          workerData: { plan: this.plan, fields: this.fields },
        });
        w.unref(); // idle, never what keeps the process up (flush holds it while one is out)
        w.on('message', (r: Reply) => {
          for (const [id, l] of unpack(r, this.fields)) this.settle(id, l);
        });
        w.on('error', () => this.close());
        w.on('exit', () => this.close());
        this.workers.push(w);
        this.outboxes.push([]);
      }
    } catch {
      this.close();
    }
    return this.workers.length > 0;
  }

  private settle(id: number, l: Listing): void {
    const wait = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) for (const w of this.workers) w.unref();
    wait?.ok(l);
  }
}
