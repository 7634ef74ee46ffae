// Fine matching: rsync's rolling search over the source regions the chunk levels left unmatched,
// against the target's 4 KiB blocks there. After each match the next block at the same shift is
// tried first with one xxh64, so unchanged runs cost no rolling; rolling only crosses changed bytes,
// and only a bounded distance (MAX_ROLL_BYTES) past each place where matching broke off.
import { blockHash } from './hash.js';
import { MAX_ROLL_BYTES } from './limits.js';
import { pushMatch, type Match } from './match-chunks.js';
import type { ByteRange } from './ranges.js';
import type { FileWindow } from './reader.js';
import { Roller, WeakTable } from './rolling.js';
import type { FineSignature } from './signature.js';

/** Candidates with an equal weak checksum examined per search hit before giving up on it. */
const MAX_CHAIN_WALK = 64;

// First offset at or after `pos` where shift d puts a target block boundary (blocks are on the grid).
function onGrid(pos: number, d: number, B: number): number {
  return pos + ((((d - pos) % B) + B) % B);
}

/** Finds target fine blocks inside source regions, read through one file window. */
export class BlockMatcher {
  private readonly offsets: Float64Array;
  private readonly lengths: Uint32Array;
  private readonly table: WeakTable;
  private readonly roller: Roller;
  private readonly B: number;

  constructor(
    private readonly sig: FineSignature,
    private readonly win: FileWindow,
  ) {
    this.B = sig.blockSize;
    const n = sig.weak.length;
    this.offsets = new Float64Array(n);
    this.lengths = new Uint32Array(n);
    let k = 0;
    for (const r of sig.ranges) {
      for (let pos = r.offset, end = r.offset + r.length; pos < end; pos += this.B, k++) {
        this.offsets[k] = pos;
        this.lengths[k] = Math.min(this.B, end - pos);
      }
    }
    this.table = new WeakTable(sig.weak);
    this.roller = new Roller(this.B);
  }

  /**
   * Matches blocks inside `region`. `left` and `right` are the source-minus-target shifts of the
   * copies before and after it: unchanged blocks sit at one of them, found by one xxh64 each.
   * A block that fails is skipped in place if the next one fits the shift (an overwrite, no
   * rolling); otherwise the window rolls at most MAX_ROLL_BYTES (an insertion or deletion shows up
   * within that). If even that finds nothing the region is "lost": only the two known shifts are
   * tried, one block at a time, so a completely rewritten file costs no byte-by-byte search.
   */
  async matchRegion(region: ByteRange, left: number, right: number, out: Match[]): Promise<void> {
    const end = region.offset + region.length;
    let d = left;
    let lost = false;
    let p = onGrid(region.offset, d, this.B);
    while (p < end) {
      let len = await this.tryBlock(p, d, end, out);
      if (len > 0) {
        p += len;
        lost = false;
        continue;
      }
      const q = lost ? onGrid(p, right, this.B) : p + this.B;
      len = await this.tryBlock(q, lost ? right : d, end, out);
      if (len > 0) {
        if (lost) d = right;
        p = q + len;
        lost = false;
        continue;
      }
      if (lost) {
        p += this.B;
        continue;
      }
      const found = await this.search(p, Math.min(end, p + MAX_ROLL_BYTES + this.B), d);
      if (found) {
        d = found.pos - this.offsets[found.k]!;
        pushMatch(out, found.pos, this.B, found.pos - d);
        p = found.pos + this.B;
      } else {
        // No block starts anywhere in the rolled span, at any shift.
        lost = true;
        p = onGrid(p + MAX_ROLL_BYTES + 1, d, this.B);
      }
    }
    await this.matchTail(region, d, out);
  }

  // Matches the block the shift puts at source offset p, if there is one; returns its length or 0.
  private async tryBlock(p: number, d: number, end: number, out: Match[]): Promise<number> {
    const k = this.blockAt(p - d);
    const len = k >= 0 ? this.lengths[k]! : 0;
    if (len === 0 || len > end - p || !(await this.sameBlock(p, k, end))) return 0;
    pushMatch(out, p, len, p - d);
    return len;
  }

  // Bytes after the last whole block of a region can still be covered by a block that ends exactly
  // at the region's end (it overlaps the previous match; the cover trims it). Matters at end of file.
  private async matchTail(region: ByteRange, d: number, out: Match[]): Promise<void> {
    const end = region.offset + region.length;
    const at = end - this.B;
    if (at < region.offset || !(await this.win.ensure(at, this.B, end))) return;
    this.roller.init(this.win.buf, at - this.win.start);
    if (this.table.lookup(this.roller.weak) < 0) return;
    const k = this.verify(at, d);
    if (k >= 0) pushMatch(out, at, this.B, this.offsets[k]!);
  }

  private async sameBlock(p: number, k: number, end: number): Promise<boolean> {
    const len = this.lengths[k]!;
    if (!this.win.has(p, len) && !(await this.win.ensure(p, len, end))) return false;
    return blockHash(this.win.view(p, len)) === this.sig.strong[k];
  }

  // Rolls a block-sized window from p until a target block matches; null at the region's end.
  private async search(
    p: number,
    end: number,
    d: number,
  ): Promise<{ pos: number; k: number } | null> {
    const B = this.B;
    const win = this.win;
    if (end - p < B || !(await win.ensure(p, B, end))) return null;
    this.roller.init(win.buf, p - win.start);
    for (let i = p; ;) {
      const last = Math.min(end, win.end) - B;
      const rel = this.roller.scan(win.buf, i - win.start, last - win.start, this.table);
      if (rel >= 0) {
        i = rel + win.start;
        const k = this.verify(i, d);
        if (k >= 0) return { pos: i, k };
      } else {
        i = last;
      }
      if (i + B >= end) return null;
      if (!win.has(i, B + 1) && !(await win.ensure(i, B + 1, end))) return null;
      this.roller.roll(win.buf, i - win.start);
      i++;
    }
  }

  // A full-size block with the window's weak and strong checksums. Where several qualify (runs of
  // zeros) the one at the guessed shift wins, then the one at the same offset, then the first in
  // the chain; the walk is capped so identical blocks cost no more per search than any other.
  private verify(i: number, d: number): number {
    const w = this.roller.weak;
    const t = this.table;
    const B = this.B;
    const strong = blockHash(this.win.view(i, B));
    for (const guess of [this.blockAt(i - d), this.blockAt(i)]) {
      if (guess >= 0 && this.lengths[guess] === B && this.sig.strong[guess] === strong)
        return guess;
    }
    let walked = 0;
    for (let k = t.lookup(w); k >= 0 && walked < MAX_CHAIN_WALK; walked++) {
      if (this.lengths[k] === B && this.sig.strong[k] === strong) return k;
      k = t.find(w, t.next[k]!);
    }
    return -1;
  }

  // Index of the block starting exactly at target offset t, or -1.
  private blockAt(t: number): number {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (this.offsets[m]! < t) lo = m + 1;
      else hi = m;
    }
    return lo < this.offsets.length && this.offsets[lo] === t ? lo : -1;
  }
}
