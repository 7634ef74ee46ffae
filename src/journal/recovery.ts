// Open-time recovery: walk every segment, verify every record, cut a torn or damaged tail off the
// last segment, refuse damage anywhere else, and drop segments that hold only acknowledged records.
import { promises as fsp, constants as C } from 'node:fs';
import path from 'node:path';
import { SmrError } from '../shared/errors.js';
import { fsyncDir } from '../shared/fsutil.js';
import { RecordScanner } from './scanner.js';
import { SegmentCatalog, listSegmentSeqs, segmentFileName, unlinkSegment } from './segment.js';

/** Where the first un-acknowledged record sits (segment null: no segment holds it yet). */
export interface AckPosition {
  firstSeq: number | null;
  offset: number;
}

/** The validated journal as found on disk. */
export interface RecoveredJournal {
  catalog: SegmentCatalog;
  /** Highest record seq on disk, 0 if none. */
  lastRecordSeq: number;
  ackPosition: AckPosition;
}

interface ScannedSegment {
  firstSeq: number;
  size: number;
  lastSeq: number; // firstSeq - 1 when empty
  ackOffset: number | null; // offset of record ackedSeq+1 if this segment holds it
}

/** Validates the segments in `dir` against the acknowledged seq and returns what survives. */
export async function recoverJournal(dir: string, ackedSeq: number): Promise<RecoveredJournal> {
  const seqs = await listSegmentSeqs(dir);
  const scanned: ScannedSegment[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const firstSeq = seqs[i]!;
    const prev = scanned[scanned.length - 1];
    if (prev && firstSeq !== prev.lastSeq + 1) {
      throw corrupt(
        dir,
        firstSeq,
        0,
        `segment starts at seq ${firstSeq}, expected ${prev.lastSeq + 1}`,
      );
    }
    const isLast = i === seqs.length - 1;
    const seg = await scanSegment(dir, firstSeq, isLast, ackedSeq);
    if (!isLast && seg.size === 0) throw corrupt(dir, firstSeq, 0, 'empty segment before the last');
    scanned.push(seg);
  }
  const first = scanned[0];
  if (first && first.firstSeq > ackedSeq + 1) {
    const missing = `${ackedSeq + 1}..${first.firstSeq - 1}`;
    throw corrupt(dir, first.firstSeq, 0, `un-acknowledged records ${missing} are missing`);
  }
  const lastRecordSeq = Math.max(0, ...scanned.map((s) => s.lastSeq));
  const kept = await dropAcked(dir, scanned, ackedSeq);
  const catalog = new SegmentCatalog(dir);
  for (const s of kept) catalog.add(s.firstSeq, s.size);
  const holder = kept.find((s) => s.ackOffset !== null);
  const ackPosition = holder
    ? { firstSeq: holder.firstSeq, offset: holder.ackOffset ?? 0 }
    : { firstSeq: null, offset: 0 };
  return { catalog, lastRecordSeq, ackPosition };
}

/** Deletes segments with nothing un-acknowledged (including an empty last one). */
async function dropAcked(
  dir: string,
  scanned: ScannedSegment[],
  ackedSeq: number,
): Promise<ScannedSegment[]> {
  const kept: ScannedSegment[] = [];
  let removed = false;
  for (const s of scanned) {
    if (s.lastSeq <= ackedSeq) {
      await unlinkSegment(path.join(dir, segmentFileName(s.firstSeq)));
      removed = true;
    } else {
      kept.push(s);
    }
  }
  if (removed) await fsyncDir(dir);
  return kept;
}

/** Verifies one segment record by record; the last segment is truncated at the first bad byte. */
async function scanSegment(
  dir: string,
  firstSeq: number,
  isLast: boolean,
  ackedSeq: number,
): Promise<ScannedSegment> {
  const file = path.join(dir, segmentFileName(firstSeq));
  const fh = await fsp.open(file, isLast ? C.O_RDWR : C.O_RDONLY);
  try {
    const { size } = await fh.stat();
    const scanner = new RecordScanner(fh);
    let expect = firstSeq;
    let ackOffset: number | null = null;
    for (;;) {
      const offset = scanner.offset;
      const problem = await nextValid(scanner, size, expect);
      if (problem === 'end') break;
      if (problem !== null) {
        if (!isLast) throw corrupt(dir, firstSeq, offset, problem);
        // A crash mid-append (or damage after the last sync) leaves junk at the end: cut it off.
        await fh.truncate(offset);
        await fh.datasync();
        return { firstSeq, size: offset, lastSeq: expect - 1, ackOffset };
      }
      if (expect === ackedSeq + 1) ackOffset = offset;
      expect++;
    }
    return { firstSeq, size, lastSeq: expect - 1, ackOffset };
  } finally {
    await fh.close();
  }
}

/** Consumes the record at the scanner if it is intact and carries `expect`; else says why not. */
async function nextValid(
  scanner: RecordScanner,
  limit: number,
  expect: number,
): Promise<string | null | 'end'> {
  const peek = await scanner.peek(limit);
  if (peek.type === 'end') return 'end';
  if (peek.type === 'bad') return peek.reason;
  const taken = await scanner.take(limit);
  if (taken.type === 'bad') return taken.reason;
  if (peek.header.seq !== expect)
    return `record carries seq ${peek.header.seq}, expected ${expect}`;
  return null;
}

/** The error for damage that recovery must not paper over. */
export function corrupt(dir: string, firstSeq: number, offset: number, reason: string): SmrError {
  return new SmrError(
    'journal-corrupt',
    `journal ${path.join(dir, segmentFileName(firstSeq))} at byte ${offset}: ${reason}`,
    'the queue cannot be replayed safely; discard it and remirror the connection',
  );
}
