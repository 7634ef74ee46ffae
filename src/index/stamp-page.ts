// A page of StampRows (stamp-rows.ts) kept packed as the read-ahead worker sends it: the keys in
// one Buffer, each row's numbers in a Float64Array. A reconciliation reads the rows through one
// RowView that moves along the page (a getter per field, no object per row), and builds a key or
// a row object only for the few rows it acts on: a StampRow object, its key's Buffer and the
// garbage of a million of them were a third of a no-change restart's main thread.
import { ENTRY_TYPES } from './entry-codec.js';
import type { StampRow } from './stamp-rows.js';
import type { EntryType } from './types.js';

/** Numbers per row: type, size, mode, dev, ino, stamped, flags, mtime_ns, ctime_ns. */
export const NUMS = 9;

/** A page as the worker packs it (or a page read here, packed the same way). */
export interface Packed {
  keys: Uint8Array;
  /** Where each row's key ends in `keys`. */
  ends: Uint32Array;
  nums: Float64Array;
  /** Row number and target bytes of each symlink. */
  links: Array<[number, Uint8Array]>;
  last: boolean;
}

/** Rows read on this thread, packed as the worker packs its pages. */
export function packRows(rows: readonly StampRow[], last: boolean): Packed {
  const keys = Buffer.concat(rows.map((r) => r.key));
  const ends = new Uint32Array(rows.length);
  const nums = new Float64Array(rows.length * NUMS);
  const links: Array<[number, Uint8Array]> = [];
  let len = 0;
  rows.forEach((r, i) => {
    len += r.key.length;
    ends[i] = len;
    const o = i * NUMS;
    nums[o] = ENTRY_TYPES.indexOf(r.type) + 1;
    nums[o + 1] = r.size;
    nums[o + 2] = r.mode;
    nums[o + 3] = r.dev;
    nums[o + 4] = r.ino;
    nums[o + 5] = r.stamped ? 1 : 0;
    nums[o + 6] = r.flags;
    nums[o + 7] = r.mtimeNs;
    nums[o + 8] = r.ctimeNs;
    if (r.link !== null) links.push([i, r.link]);
  });
  return { keys, ends, nums, links, last };
}

/**
 * The row at `i` of a page, read in place. It moves (`at`): whoever needs a row after the cursor
 * moved on takes `copy()`.
 */
export class RowView implements StampRow {
  /** The page's keys (a Buffer over Packed.keys). */
  keys: Buffer = Buffer.alloc(0);
  private page: Packed = {
    keys: this.keys,
    ends: new Uint32Array(0),
    nums: new Float64Array(0),
    links: [],
    last: true,
  };
  private links: Map<number, Uint8Array> | null = null;
  /** The row's index in the page. */
  i = 0;
  /** Where its key starts and ends in `keys`. */
  keyStart = 0;
  keyEnd = 0;
  private o = 0;

  /** Rows in the page. */
  get count(): number {
    return this.page.ends.length;
  }

  /** Moves to the first row of `p`. */
  load(p: Packed): void {
    this.page = p;
    this.keys = Buffer.from(p.keys.buffer, p.keys.byteOffset, p.keys.byteLength);
    this.links = p.links.length ? new Map(p.links) : null;
    this.at(0);
  }

  /** Moves to row `i` (count: past the last). */
  at(i: number): void {
    const ends = this.page.ends;
    this.i = i;
    this.keyStart = i > 0 ? (ends[i - 1] as number) : 0;
    this.keyEnd = i < ends.length ? (ends[i] as number) : this.keyStart;
    this.o = i * NUMS;
  }

  get key(): Buffer {
    return this.keys.subarray(this.keyStart, this.keyEnd);
  }
  get type(): EntryType {
    return ENTRY_TYPES[(this.page.nums[this.o] as number) - 1] as EntryType;
  }
  get size(): number {
    return this.page.nums[this.o + 1] as number;
  }
  get mode(): number {
    return this.page.nums[this.o + 2] as number;
  }
  get dev(): number {
    return this.page.nums[this.o + 3] as number;
  }
  get ino(): number {
    return this.page.nums[this.o + 4] as number;
  }
  get stamped(): boolean {
    return this.page.nums[this.o + 5] === 1;
  }
  get flags(): number {
    return this.page.nums[this.o + 6] as number;
  }
  get mtimeNs(): number {
    return this.page.nums[this.o + 7] as number;
  }
  get ctimeNs(): number {
    return this.page.nums[this.o + 8] as number;
  }
  get link(): Buffer | null {
    const l = this.links?.get(this.i);
    return l ? Buffer.from(l) : null;
  }

  /** The row as an object of its own. */
  copy(): StampRow {
    const { type, size, mtimeNs, mode, dev, ino, link, stamped, ctimeNs, flags } = this;
    return {
      key: Buffer.from(this.key),
      type,
      size,
      mtimeNs,
      mode,
      dev,
      ino,
      link,
      stamped,
      ctimeNs,
      flags,
    };
  }
}
