// The delta stream: how a source file is rebuilt at the target from its old copy plus new bytes.
import type { FileHandle } from 'node:fs/promises';
import { SmrError } from '../shared/errors.js';
import { LITERAL_CHUNK_BYTES, READ_AHEAD_BYTES } from './limits.js';
import type { Match } from './match-chunks.js';
import { FileWindow } from './reader.js';

/**
 * One step of a rebuild, in increasing dstOffset order with no gaps: copy bytes from the target's
 * basis file (srcOffset is an offset in the basis), or write literal bytes sent by the source.
 */
export type DeltaInstruction =
  | { op: 'copy'; srcOffset: number; length: number; dstOffset: number }
  | { op: 'literal'; dstOffset: number; data: Buffer };

/** Counters filled in while the instructions are generated. */
export interface DeltaStats {
  copyBytes: number;
  literalBytes: number;
  instructions: number;
  /** Signature requests made after the coarse signature (0 to 2). */
  roundTrips: number;
}

/**
 * Covers [0, size) of the source: copies where matches say so (earlier-starting match wins an
 * overlap, later ones are trimmed, which is safe because any part of a match is a match), literal
 * bytes read from the source elsewhere, in chunks of at most LITERAL_CHUNK_BYTES.
 */
export async function* coverInstructions(
  fh: FileHandle,
  size: number,
  matches: Match[],
  stats: DeltaStats,
): AsyncGenerator<DeltaInstruction> {
  const sorted = [...matches].sort((a, b) => a.src - b.src || b.len - a.len);
  const win = new FileWindow(fh, size);
  let pos = 0;
  let pending: { srcOffset: number; length: number; dstOffset: number } | undefined;
  const flush = function* (): Generator<DeltaInstruction> {
    if (!pending) return;
    stats.copyBytes += pending.length;
    stats.instructions++;
    yield { op: 'copy', ...pending };
    pending = undefined;
  };
  for (const m of sorted) {
    const end = Math.min(m.src + m.len, size);
    if (end <= pos) continue;
    const start = Math.max(m.src, pos);
    if (start > pos) {
      yield* flush();
      yield* literals(win, pos, start, stats);
    }
    const tgt = m.tgt + (start - m.src);
    if (
      pending &&
      pending.dstOffset + pending.length === start &&
      pending.srcOffset + pending.length === tgt
    ) {
      pending.length += end - start;
    } else {
      yield* flush();
      pending = { srcOffset: tgt, length: end - start, dstOffset: start };
    }
    pos = end;
  }
  yield* flush();
  if (pos < size) yield* literals(win, pos, size, stats);
}

// Reads source bytes [from, to) as literal instructions, through a read-ahead window (gaps come in
// ascending order, often close together); each instruction gets its own copy, the consumer keeps it.
async function* literals(
  win: FileWindow,
  from: number,
  to: number,
  stats: DeltaStats,
): AsyncGenerator<DeltaInstruction> {
  for (let pos = from; pos < to;) {
    const len = Math.min(LITERAL_CHUNK_BYTES, to - pos);
    if (!(await win.ensure(pos, len, pos + Math.max(len, READ_AHEAD_BYTES)))) {
      throw new SmrError(
        'io',
        'source file shrank while its delta was being sent',
        'send it whole',
      );
    }
    const data = Buffer.from(win.view(pos, len));
    stats.literalBytes += len;
    stats.instructions++;
    yield { op: 'literal', dstOffset: pos, data };
    pos += len;
  }
}
