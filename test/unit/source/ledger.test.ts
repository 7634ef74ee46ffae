// The ledger of what capture queued: the seq that last touched each path (a mirror waits for
// it), the subscribers that follow the stream, and forgetting when the stream restarts.
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../../src/journal/types.js';
import { Ledger } from '../../../src/source/ledger.js';
import type { QueuedOp } from '../../../src/source/queued-op.js';

function ledger(): Ledger {
  let seq = 0;
  return new Ledger(async (e) => ({ ...e, seq: ++seq, size: 0 }) as JournalRecord);
}

describe('Ledger', () => {
  it('remembers the last seq of every path an op names', async () => {
    const l = ledger();
    await l.emit({ kind: 'mkdir', meta: { p: 'd', mode: 0o755 } });
    await l.emit({ kind: 'rename', meta: { from: 'a', to: 'b' } });
    await l.emit({ kind: 'put', meta: { p: 'd', first: true, end: true, size: 0 } });
    await l.emit({
      kind: 'task',
      meta: { id: 't', on: 'execute', command: 'x', args: [], timeoutMs: 0 },
    });
    expect([l.lastSeq('d'), l.lastSeq('a'), l.lastSeq('b'), l.lastSeq('never')]).toEqual([
      3, 2, 2, 0,
    ]);
  });

  it('tells subscribers every op with its seq, until they unsubscribe', async () => {
    const l = ledger();
    const seen: Array<[string, number]> = [];
    const off = l.onEmitted((e: QueuedOp, seq) => seen.push([e.kind, seq]));
    await l.emit({ kind: 'delete', meta: { p: 'x' } });
    off();
    await l.emit({ kind: 'delete', meta: { p: 'y' } });
    expect(seen).toEqual([['delete', 1]]);
  });

  it('records a stat as the known state; forgets paths, trees, or the whole stream', async () => {
    const l = ledger();
    const st = { dev: 1, ino: 2, size: 3, mtimeMs: 4, mode: 0o100644 } as Stats;
    l.record('d', st, 'dir');
    l.record('d/f', { ...st, ino: 3 } as Stats, 'file');
    expect(l.known.get('d/f')).toMatchObject({ type: 'file', ino: 3, mode: 0o644 });
    l.forgetTree('d');
    expect(l.known.size).toBe(0);
    l.record('e', st, 'file');
    await l.emit({ kind: 'delete', meta: { p: 'e' } });
    l.forgetStream();
    expect([l.known.size, l.lastSeq('e')]).toEqual([0, 0]);
  });
});
