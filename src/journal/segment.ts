// Segment files and the in-memory catalog of them. A segment is named after the seq of its first
// record, zero-padded to 20 digits (enough for any u64) so a plain name sort is a seq sort.
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** File-name suffix of segment files; anything else in the journal dir is not a segment. */
export const SEGMENT_SUFFIX = '.seg';
const NAME_DIGITS = 20;
const NAME_RE = /^(\d{20})\.seg$/;

/** One segment file; `size` is the number of bytes fully written (readers never look past it). */
export interface Segment {
  readonly firstSeq: number;
  readonly file: string;
  size: number;
}

/** The file name for a segment starting at `firstSeq`. */
export function segmentFileName(firstSeq: number): string {
  return String(firstSeq).padStart(NAME_DIGITS, '0') + SEGMENT_SUFFIX;
}

/** The first seq encoded in a segment file name, or null if the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const m = NAME_RE.exec(name);
  if (!m?.[1]) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : null;
}

/** First seqs of the segment files in `dir`, ascending. */
export async function listSegmentSeqs(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  const seqs: number[] = [];
  for (const name of names) {
    const seq = parseSegmentFileName(name);
    if (seq !== null) seqs.push(seq);
  }
  return seqs.sort((a, b) => a - b);
}

/** Removes a segment file; one already gone is fine (a crash may have beaten us to it). */
export async function unlinkSegment(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
}

/** The live segments in seq order, plus their total size, kept current by writer and trimmer. */
export class SegmentCatalog {
  private list: Segment[] = [];
  private total = 0;

  constructor(readonly dir: string) {}

  /** Registers a new segment; it must start after every segment already known. */
  add(firstSeq: number, size = 0): Segment {
    const last = this.last;
    if (last && firstSeq <= last.firstSeq) {
      throw new Error(`segment ${firstSeq} added after ${last.firstSeq}`);
    }
    const seg: Segment = { firstSeq, file: path.join(this.dir, segmentFileName(firstSeq)), size };
    this.list.push(seg);
    this.total += size;
    return seg;
  }

  /** Records bytes appended to a segment. */
  grow(seg: Segment, bytes: number): void {
    seg.size += bytes;
    this.total += bytes;
  }

  /** Forgets the first `count` segments and returns them (the caller deletes the files). */
  shift(count: number): Segment[] {
    const gone = this.list.splice(0, count);
    for (const seg of gone) this.total -= seg.size;
    return gone;
  }

  /** Forgets every segment (reset). */
  clear(): Segment[] {
    return this.shift(this.list.length);
  }

  /** The segment that would hold `seq`: the last one starting at or before it. */
  locate(seq: number): Segment | undefined {
    let lo = 0;
    let hi = this.list.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const seg = this.list[mid]!;
      if (seg.firstSeq <= seq) {
        found = seg;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Position of `seg` in the catalog, or -1 once it has been trimmed. */
  indexOf(seg: Segment): number {
    return this.list.indexOf(seg);
  }

  /** Total bytes of the segments before `seg`, or null once `seg` is no longer listed. */
  bytesBefore(seg: Segment): number | null {
    let sum = 0;
    for (const s of this.list) {
      if (s === seg) return sum;
      sum += s.size;
    }
    return null;
  }

  get segments(): readonly Segment[] {
    return this.list;
  }

  get first(): Segment | undefined {
    return this.list[0];
  }

  get last(): Segment | undefined {
    return this.list[this.list.length - 1];
  }

  get totalBytes(): number {
    return this.total;
  }
}

/** Deletes every segment file in `dir` (reset, or finishing a reset interrupted by a crash). */
export async function removeAllSegments(dir: string): Promise<void> {
  for (const seq of await listSegmentSeqs(dir)) {
    await unlinkSegment(path.join(dir, segmentFileName(seq)));
  }
}
