// Opening a connection's index at start, and bringing it in step with the journal after whatever
// stopped the source: the restart cases of docs/INDEX.md ("In step with the journal"), 1 to 3.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DIRTY_QUEUING, DIRTY_UNSURE, PathIndex } from '../index/index.js';
import type { Journal } from '../journal/journal.js';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { pathKey, relOf } from './index-path.js';
import type { QueuedOp } from './queued-op.js';

/** The index file in a connection's directory. */
export const INDEX_FILE = 'index.sqlite';

/**
 * Opens the index of the connection in `dir`. A damaged file (or one of another schema) is set
 * aside and a new one begun: the connection then has no baseline and is mirrored (diff) again,
 * target-only paths counting as orphans.
 */
export async function openIndex(dir: string): Promise<PathIndex> {
  const file = path.join(dir, INDEX_FILE);
  try {
    return PathIndex.open(file);
  } catch (err) {
    if (!(err instanceof SmrError) || err.code !== 'journal-corrupt') throw err;
    const aside = `${file}.damaged-${Date.now()}`;
    log.error(`${err.message}; set aside as ${aside}, the connection will be mirrored again`);
    for (const ext of ['', '-wal', '-shm'])
      await fsp.rename(file + ext, aside + ext).catch(() => undefined);
    return PathIndex.open(file);
  }
}

/** What recovery leaves for the restart's reconciliation. */
export interface Recovered {
  /** Subtrees removed by ops the journal lost: the target may still hold them (case 3). */
  tombstones: string[];
}

/**
 * Cases 1–3: another epoch (every entry unsure, kept as evidence); the index behind the journal
 * (the paths of the records it lacks are unsure); the index ahead (what the journal lost is
 * unsure, its removals are to be done again). A batch cut short is unsure too.
 */
export async function recoverIndex(
  index: PathIndex,
  journal: Journal,
  epoch: number,
): Promise<Recovered> {
  const meta = index.meta();
  if (meta.epoch !== epoch) {
    if (meta.epoch === null && index.count() === 0) index.setEpoch(epoch);
    else index.restartStream(epoch);
    return { tombstones: [] };
  }
  index.promoteDirty(DIRTY_QUEUING, DIRTY_UNSURE);
  const last = journal.lastSeq;
  if (meta.indexedSeq < last) {
    await markRecordsUnsure(index, journal, Math.max(meta.indexedSeq, journal.ackedSeq) + 1);
    index.transaction(() => index.setIndexedSeq(last));
    return { tombstones: [] };
  }
  if (meta.indexedSeq > last) {
    index.markUnsureAbove(last);
    const tombstones = [...index.tombstonesAbove(last)].map((t) => relOf(t.path));
    index.transaction(() => index.setIndexedSeq(last));
    log.warn(
      `index is ahead of the journal (${meta.indexedSeq} > ${last}): the journal lost its tail; ${tombstones.length} removal(s) to do again`,
    );
    return { tombstones };
  }
  return { tombstones: [] };
}

/** Marks DIRTY_UNSURE every path the journal's records from `fromSeq` on name. */
async function markRecordsUnsure(index: PathIndex, journal: Journal, fromSeq: number) {
  const r = journal.reader(fromSeq);
  try {
    for (let rec = await r.next(); rec; rec = await r.next()) {
      const e = rec as unknown as QueuedOp;
      const meta = e.meta as { p?: string; from?: string; to?: string; f?: Array<[string]> };
      const named = [meta.p, meta.from, meta.to, ...(meta.f ?? []).map((f) => f[0])]; // f: `files`
      const paths = named.filter((p): p is string => p !== undefined);
      for (const p of paths) index.markDirty(pathKey(p), DIRTY_UNSURE);
    }
  } finally {
    await r.close();
  }
}
