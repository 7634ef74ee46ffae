// The index's bookkeeping (epoch, indexed and acked seqs, baseline), read from the database every time so a
// rolled-back transaction can never leave a stale copy in memory.
import type { Db, Stmt } from './sqlite.js';
import type { IndexMeta } from './types.js';

type MetaName = 'epoch' | 'indexedSeq' | 'ackedSeq' | 'baseline';

/** Named integers in the meta table. */
export class MetaStore {
  private readonly getStmt: Stmt;
  private readonly setStmt: Stmt;

  constructor(db: Db) {
    this.getStmt = db.prepare('SELECT value FROM meta WHERE name = ?').pluck();
    this.setStmt = db.prepare(
      'INSERT INTO meta (name, value) VALUES (?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
  }

  private value(name: MetaName): number | null {
    return (this.getStmt.get(name) as number | null | undefined) ?? null;
  }

  read(): IndexMeta {
    return {
      epoch: this.value('epoch'),
      indexedSeq: this.value('indexedSeq') ?? 0,
      ackedSeq: this.value('ackedSeq') ?? 0,
      baseline: this.value('baseline') === 1,
    };
  }

  set(name: MetaName, value: number | null): void {
    this.setStmt.run(name, value);
  }
}
