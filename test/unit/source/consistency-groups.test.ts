// Crash mode's capture cycles on a real capture pipeline, with snapshots that are plain copies of
// the source (a stand-in for btrfs's, which test/e2e/crash-mode.test.ts uses): a cut reads the
// hinted paths inside its snapshot and closes the group with a marker; what a barrier queues in
// line (a task marker) is the group's last op, right before the marker, so the target reaches it
// exactly at the group's end.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHash } from '../../../src/delta/hash.js';
import type { JournalEntry } from '../../../src/journal/types.js';
import type { Capture } from '../../../src/source/capture.js';
import { ConsistencyGroups } from '../../../src/source/consistency-groups.js';
import { Snapshots } from '../../../src/source/consistency-snapshots.js';
import type { QueuedOp } from '../../../src/source/queued-op.js';
import { listAppend, testCapture } from './capture-fixture.js';

/** Snapshots that copy the source tree (a point in time, as a btrfs snapshot is). */
class CopySnapshots extends Snapshots {
  override async take(n: number): Promise<void> {
    await this.drop(n);
    cpSync(this.place.subvolume, this.pathOf(n), { recursive: true });
  }

  override async drop(n: number): Promise<void> {
    rmSync(this.pathOf(n), { recursive: true, force: true });
  }
}

beforeAll(() => initHash());

function setup(): {
  base: string;
  capture: Capture;
  groups: ConsistencyGroups;
  queued: JournalEntry[];
  stop(): void;
} {
  const base = mkdtempSync(path.join(os.tmpdir(), 'smr-groups-'));
  const snapDir = mkdtempSync(path.join(os.tmpdir(), 'smr-groups-snaps-'));
  const queued: JournalEntry[] = [];
  const capture = testCapture(base, listAppend(queued));
  capture.ledger.setBaseline(true);
  const groups = new ConsistencyGroups(
    capture,
    new CopySnapshots({ subvolume: base, below: '', dir: snapDir }),
  );
  const stop = (): void => {
    groups.stop();
    capture.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(snapDir, { recursive: true, force: true });
  };
  return { base, capture, groups, queued, stop };
}

const taskMarker: QueuedOp = {
  kind: 'task',
  meta: { id: 't1', on: 'execute', command: 'x', args: [], timeoutMs: 1000 },
} as QueuedOp;

describe('consistency groups', () => {
  it('reads a cycle inside its snapshot: a write after the cut waits for the next group', async () => {
    const { base, groups, queued, stop } = setup();
    await groups.start();
    writeFileSync(path.join(base, 'a.txt'), 'one');
    groups.hint('a.txt');
    const first = await groups.cut();
    writeFileSync(path.join(base, 'a.txt'), 'two, after the first snapshot');
    expect(first?.group).toBe(2);
    expect(queued.map((e) => [e.kind, e.meta.p ?? e.meta.group])).toEqual([
      ['put', 'a.txt'],
      ['mark', 2],
    ]);
    expect(queued[0]?.meta.size).toBe(3); // "one": the snapshot's, not the file's now
    groups.hint('a.txt'); // (a timed cycle may take it first: the next group either way)
    await groups.cut();
    const later = queued.slice(2);
    expect(later.filter((e) => e.kind !== 'mark').map((e) => [e.kind, e.meta.size])).toEqual([
      [expect.stringMatching(/^(put|write)$/), 29],
    ]);
    expect(later.at(-1)?.kind).toBe('mark');
    stop();
  });

  it("queues a barrier's in-line op as the group's last, right before its marker", async () => {
    const { base, capture, groups, queued, stop } = setup();
    await groups.start();
    writeFileSync(path.join(base, 'a.txt'), 'a');
    writeFileSync(path.join(base, 'b.txt'), 'b');
    groups.hint('a.txt');
    const mark = await groups.cut({
      rescan: true, // b.txt was hinted to nobody: the barrier's compare finds it
      beforeMark: async () => void (await capture.ledger.emit(taskMarker)),
    });
    const kinds = queued.map((e) => [e.kind, e.meta.p ?? e.meta.id ?? e.meta.group]);
    expect(kinds.slice(-2)).toEqual([
      ['task', 't1'],
      ['mark', mark?.group],
    ]);
    expect(kinds.slice(0, -2).sort()).toEqual([
      ['put', 'a.txt'],
      ['put', 'b.txt'],
    ]);
    expect(mark?.seq).toBe(queued.length);
    stop();
  });
});
