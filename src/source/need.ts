// A NEED from the target: it had no basis for a path when it applied op `seq`, so that path is to
// be sent whole. But renames queued after `seq` may have moved it since, and deletes removed it:
// the path to resend is where those ops took it (docs/CHAOS.md, cause B). PathHistory follows the
// renames and deletes not yet acknowledged; older ones are read back from the journal.
import type { JournalReader } from '../journal/types.js';
import { within } from './index-path.js';
import type { QueuedOp } from './queued-op.js';

/** A rename or delete, as the history keeps it. */
type Move = { seq: number; from: string; to: string | null };

/** What the history reads of the journal. */
export interface HistorySource {
  readonly ackedSeq: number;
  reader(fromSeq: number): JournalReader;
}

/** Renames and deletes queued and not yet acknowledged, in seq order. */
export class PathHistory {
  private moves: Move[] = [];
  /** The first seq this process saw queued (ops before it are read from the journal). */
  private since = Infinity;

  constructor(private readonly journal: HistorySource) {}

  /** Follows one queued op. */
  observe(e: QueuedOp, seq: number): void {
    if (this.since === Infinity) this.since = seq;
    const m = moveOf(e, seq);
    if (m) this.moves.push(m);
  }

  /** Forgets what the target acknowledged. */
  trim(): void {
    const acked = this.journal.ackedSeq;
    let i = 0;
    while (i < this.moves.length && (this.moves[i] as Move).seq <= acked) i++;
    if (i) this.moves.splice(0, i);
  }

  /** Where `rel`, as named by op `seq`, is now on the target's way: null when since deleted. */
  async mapThrough(rel: string, seq: number): Promise<string | null> {
    let cur: string | null = rel;
    for (const m of await this.after(seq)) {
      if (cur === null) break;
      cur = follow(cur, m);
    }
    return cur;
  }

  private async after(seq: number): Promise<Move[]> {
    const mine = this.moves.filter((m) => m.seq > seq);
    if (seq + 1 >= this.since) return mine;
    // Queued before this process started: the journal still holds them (not acknowledged).
    const older: Move[] = [];
    const r = this.journal.reader(Math.max(seq, this.journal.ackedSeq) + 1);
    try {
      for (let rec = await r.next(); rec && rec.seq < this.since; rec = await r.next()) {
        const m = moveOf(rec as unknown as QueuedOp, rec.seq);
        if (m) older.push(m);
      }
    } finally {
      await r.close();
    }
    return [...older, ...mine];
  }
}

function moveOf(e: QueuedOp, seq: number): Move | null {
  if (e.kind === 'rename') return { seq, from: e.meta.from, to: e.meta.to };
  if (e.kind === 'delete' || e.kind === 'rmdir') return { seq, from: e.meta.p, to: null };
  return null;
}

/** Where one rename or delete takes `cur` (null: it is gone, removed or replaced). */
function follow(cur: string, m: Move): string | null {
  if (within(cur, m.from)) return m.to === null ? null : m.to + cur.slice(m.from.length);
  if (m.to !== null && within(cur, m.to)) return null; // the rename replaced it
  return cur;
}
