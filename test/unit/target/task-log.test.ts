// The target's durable task log: one copy per replica for the daemon's life, written one report at
// a time. Found by the fuzz harness: concurrent reports (tasks run on arrival) shared a temp file
// name, lost reports, and could leave a torn log that no later OPEN of the replica could read.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskLog } from '../../../src/target/task-exec.js';
import type { TaskReport } from '../../../src/protocol/tasks.js';

let dir = '';
afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

const report = (id: string): TaskReport => ({
  type: 'task',
  id,
  state: 'succeeded',
  exitCode: 0,
  startedAt: null,
  endedAt: null,
  durationMs: 1,
  outputTail: ['x'.repeat((Number(id.slice(1)) % 7) * 100)], // reports of different lengths
});

describe('TaskLog', () => {
  it('is one log per replica, and keeps every report of concurrent writers', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-tasklog-'));
    const [a, b] = await Promise.all([TaskLog.open(dir, 'web'), TaskLog.open(dir, 'web')]);
    expect(a).toBe(b);
    expect(await TaskLog.open(dir, 'other')).not.toBe(a);
    await Promise.all(Array.from({ length: 40 }, (_, i) => a.put(report(`t${i}`))));
    // Only the web log was written ('other' was opened, never written), and no temp file is left.
    const files = await fsp.readdir(path.join(dir, 'target-tasks'));
    expect(files).toHaveLength(1);
    const onDisk = JSON.parse(
      await fsp.readFile(path.join(dir, 'target-tasks', files[0]!), 'utf8'),
    );
    expect(onDisk.map((r: TaskReport) => r.id).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `t${i}`).sort(),
    );
  });
});
