// Small files in bulk (issue 13): a mirror sends the new small files it finds many per pipeline
// step, and many per journal record and frame (a `files` op, protocol/files-op.ts), where each
// file used to be a step, a record, a frame and an applier turn of its own. Every file still
// lands whole on the target (its own temp file and rename), with every attribute; anything a
// batch cannot carry as it is (a hard link, a parent the index lacks, a file that changed or went
// away, one with xattrs or ACLs that would swell the record) goes the ordinary way, in order.
import { pushBlockHashes } from '../delta/hash.js';
import type { ScanStat } from './entry-type.js';
import { MAX_BATCH_FILE_BYTES, MAX_BATCH_FILES, type WireFile } from '../protocol/files-op.js';
import { CAPTURE_BLOCK } from './file-capture.js';
import { pathKey } from './index-path.js';
import { knownMatchesDisk, sameFile } from './known.js';
import type { MirrorHost } from './mirror-steps.js';
import type { SendGate } from './send-gate.js';
import { ReadAhead, readInto } from './small-read.js';

/** Data one batch carries at most (one journal record, one frame). */
export const BATCH_BYTES = 1024 * 1024;
/** Meta JSON one batch carries at most (the journal takes 64 KiB). */
const BATCH_META_BYTES = 48 * 1024;
/** A directory older than the watch by this much needs none of a new one's relists. */
const SETTLED_DIR_MS = 60_000;
/** Files one scan batch holds (one pipeline step). */
export const BATCH_FILES = 512;

/** A file the scan found, with the stat it saw; or a new directory, sent by `alone` in order. */
export interface SmallFileItem {
  rel: string;
  st: ScanStat;
}

/** Sends one item that goes the ordinary way (a new directory), at its place in the order. */
export type SendAlone = (rel: string, st: ScanStat) => Promise<void>;

const EMPTY = Buffer.alloc(0);

/** Whether a scanned entry the mirror sends whole may go in a batch. */
export function batchable(st: ScanStat, hardLinks: boolean): boolean {
  return st.isFile() && st.size <= MAX_BATCH_FILE_BYTES && (st.nlink < 2 || !hardLinks);
}

/** One file read into the batch, waiting for its record. */
interface Pending {
  rel: string;
  st: ScanStat;
  len: number;
  /** Whether the read's fstat still saw the scan's file (else it is hinted after the record). */
  same: boolean;
  hashes: bigint[];
}

/**
 * The mirror step of one scan batch: the files are read, queued as `files` records of at most
 * BATCH_BYTES and BATCH_META_BYTES, and recorded in the index; a file that cannot go in a batch
 * is resent alone at its place in the order. `sinceSeq`: where this mirror's steps began.
 */
export async function sendSmallFiles(
  host: MirrorHost,
  items: SmallFileItem[],
  sinceSeq: number,
  gate?: SendGate,
  alone?: SendAlone,
): Promise<void> {
  const { ledger } = host;
  const dirs = new Set<string>();
  // Whether an item may have an entry: not while the index holds none from the first item to the
  // last (path order; a mirror into an empty replica), until a resend or a directory's check,
  // which may record items further on, has run (a look-up per file was ~3% of the source's CPU).
  const [first, last] = [items[0], items[items.length - 1]];
  let lookUp = !!first && !!last && ledger.index.count(pathKey(first.rel), pathKey(last.rel)) > 0;
  // Bytes the files from each index on may take (sizes as scanned, one more each to see the end).
  const left = items.map((it) => (it.st.isFile() ? it.st.size + 1 : 0));
  for (let i = left.length - 2; i >= 0; i--) (left[i] as number) += left[i + 1] as number;
  let buf = EMPTY;
  let used = 0;
  let metaBytes = 0;
  let pending: Pending[] = [];
  let wire: WireFile[] = [];
  // New directories whose mkdir is queued, recorded with the next flush's files.
  let made: SmallFileItem[] = [];
  // The batch's paths the index held no entry for when decided (this step alone records them).
  let fresh: string[] = [];
  const flush = async (): Promise<void> => {
    if (!wire.length && !made.length) return;
    const [files, data, done, dirsMade, unknown] = [
      wire,
      buf.subarray(0, used),
      pending,
      made,
      fresh,
    ];
    [wire, pending, metaBytes, made, fresh] = [[], [], 0, [], []];
    // Every path's crash mark in one commit (none for a path new to the index), then the mkdirs
    // in scan order (none lies below a file gathered before it, in path order), then the files.
    const dirRels = dirsMade.map((d) => d.rel);
    ledger.premark([...dirRels, ...files.map((f) => f[0])], [...dirRels, ...unknown]);
    for (const d of dirsMade)
      await ledger.emit({ kind: 'mkdir', meta: { p: d.rel, mode: d.st.mode & 0o7777 } });
    if (files.length) {
      [buf, used] = [EMPTY, 0]; // the record keeps its buffer; the next batch gets one of its own
      await ledger.emit({ kind: 'files', meta: { f: files }, data, handOver: true });
    }
    // One index transaction for the batch's entries (a commit per file was a cost of its own).
    const dirEntries = dirsMade.map((d) => ({ ...d, type: 'dir' as const, blocks: null }));
    ledger.recordAll([
      ...dirEntries,
      ...done.map((f) => {
        const hashes = BigUint64Array.from(f.hashes);
        const blocks = { blockSize: CAPTURE_BLOCK, size: f.len, hashes };
        return { rel: f.rel, st: f.st, type: 'file' as const, blocks };
      }),
    ]);
    // Changed while it was read: what was sent is the stat's, the next check sends the change.
    for (const f of done) if (!f.same) host.hint(f.rel);
  };
  // What one item needs that cannot be done at once (a flush, a resend), or null: it is queued.
  type Later = (() => Promise<void>) | null;
  const resend =
    (rel: string): Later =>
    async () => {
      await flush();
      lookUp = true;
      await host.resend(rel, { scanned: true, gate, linkAfter: sinceSeq });
    };
  // Reads file `i` into the batch: the flush it fills, or its resend when the read failed or the
  // file carries what a batch does not (xattrs, ACLs).
  const place = (i: number, isNew: boolean): Later => {
    const { rel, st } = items[i] as SmallFileItem;
    // The scan's stat (taken moments ago) stands for the file: the read's fstat tells whether it
    // changed since, and a change is hinted like one during the read. Its attributes come from
    // that fstat and the descriptor (a second lstat and a name list read by path per file were
    // a cost of their own). Gone or replaced, the read fails and the ordinary path looks.
    const got = readInto(ahead.take(i), buf, used, st.size, (after, at, named) =>
      ledger.attrs.fromStat(rel, after, at, named),
    );
    if (got) ahead.readTook(i, got.took);
    const attrs = got?.attrs;
    if (!got || !attrs || attrs.a.x?.length || attrs.a.acl?.a || attrs.a.acl?.d) return resend(rel);
    const file: WireFile = [rel, got.len, st.mode & 0o7777, st.mtimeMs, attrs.a];
    ledger.carrying(rel, attrs);
    wire.push(file);
    if (isNew) fresh.push(rel);
    const hashes = hashesOf(buf.subarray(used, used + got.len));
    pending.push({ rel, st, len: got.len, same: sameFile(got.after, st), hashes });
    used += got.len;
    metaBytes += Buffer.byteLength(JSON.stringify(file));
    return metaBytes >= BATCH_META_BYTES || wire.length >= MAX_BATCH_FILES ? flush : null;
  };
  // A directory new to the index, as its forced check would send it (mkdir, watch), but queued
  // and recorded with the batch: a step, three lstats, index look-ups and a commit of its own per
  // directory were 17% of the source's full mirror of a tree of ten files per directory (and
  // its mark's own commit, and a read transaction cut short, still 4% after that).
  const mkdir = (rel: string, st: ScanStat): null => {
    made.push({ rel, st });
    dirs.add(rel);
    host.watchDir(rel);
    return null;
  };
  const decide = (i: number): Later => {
    const { rel, st } = items[i] as SmallFileItem;
    // A new directory: its mkdir may go before the files gathered so far (none lies below it,
    // in path order), as it did as a step of its own; its own files come after it.
    const k = lookUp ? ledger.get(rel) : undefined;
    if (st.isDirectory() && alone) {
      if (!k && plainNewDir(host, rel, st, dirs)) return mkdir(rel, st);
      const check = (): Promise<void> => {
        lookUp = true; // it may record the directory's entries, items further on
        return alone(rel, st);
      };
      // Its check may look for an ancestor whose mkdir is queued: recorded first.
      return made.length ? () => flush().then(check) : check;
    }
    // Sent already during this mirror (a new directory's check queues its entries): not again.
    if (k && k.seq > sinceSeq && !k.unsure && knownMatchesDisk(k, st)) return null;
    if (!batchable(st, true) || !parentsKnown(host, rel, dirs)) return resend(rel);
    if (buf.length - used >= st.size + 1) return place(i, !k);
    return async () => {
      await flush();
      buf = Buffer.allocUnsafe(Math.max(Math.min(BATCH_BYTES, left[i] as number), st.size + 1));
      await place(i, !k)?.();
    };
  };
  // The files that may be read, opened a little ahead of their reads (small-read.ts).
  const ahead = new ReadAhead(items.length, (i) => {
    const { rel, st } = items[i] as SmallFileItem;
    return batchable(st, true) ? { abs: host.abs(rel), size: st.size } : null;
  });
  try {
    for (let i = 0; i < items.length;) {
      // Items are decided in runs, each inside one read transaction of the index: a look-up on
      // its own is a transaction of its own (~7 µs of locking, against under 1 µs inside one).
      const later = ledger.index.transaction(() => {
        while (i < items.length) {
          const l = decide(i++);
          if (l) return l;
        }
        return null;
      });
      if (later) await later();
    }
  } finally {
    ahead.close();
  }
  await flush();
}

/**
 * Whether a new directory may go without its check: its ancestors are known, and it was there
 * well before the watch began (a newer one is listed again shortly after its mkdir, which only
 * its check arranges: path-check.ts, checkDir).
 */
function plainNewDir(host: MirrorHost, rel: string, st: ScanStat, known: Set<string>): boolean {
  return st.ctimeMs < host.watchingSince - SETTLED_DIR_MS && parentsKnown(host, rel, known);
}

/** Whether the index holds every ancestor of `rel` as a directory (else the check sends them). */
function parentsKnown(host: MirrorHost, rel: string, known: Set<string>): boolean {
  for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) {
    const anc = rel.slice(0, i);
    if (known.has(anc)) continue;
    if (host.ledger.get(anc)?.type !== 'dir') return false;
    known.add(anc);
  }
  return true;
}

function hashesOf(data: Buffer): bigint[] {
  const out: bigint[] = [];
  pushBlockHashes(data, data.length, CAPTURE_BLOCK, out);
  return out;
}

/** The scan's current batch of small files: one mirror step each time it is full or flushed. */
export class ScanBatch {
  private items: SmallFileItem[] = [];
  private bytes = 0;

  constructor(private readonly send: (items: SmallFileItem[], bytes: number) => void) {}

  /**
   * Takes a file the mirror sends whole if it may go in a batch, or a directory new to the
   * target (sent by the batch's `alone`: a pipeline step, a work-queue turn and an index batch
   * per directory were a cost of their own); false: it goes alone.
   */
  add(rel: string, st: ScanStat, hardLinks: boolean): boolean {
    if (!batchable(st, hardLinks) && !st.isDirectory()) return false;
    this.items.push({ rel, st });
    if (st.isFile()) this.bytes += st.size;
    if (this.items.length >= BATCH_FILES || this.bytes >= BATCH_BYTES) this.flush();
    return true;
  }

  /** Sends what was gathered as one step. */
  flush(): void {
    if (!this.items.length) return;
    const [items, bytes] = [this.items, this.bytes];
    [this.items, this.bytes] = [[], 0];
    this.send(items, bytes);
  }
}
