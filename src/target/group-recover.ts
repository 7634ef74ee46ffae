// Crash mode's recovery at target start: a group whose redo record is on disk (committed) but
// whose ops the applier had not all made durable is applied again from the staging log, so every
// replica is at a group boundary before the target takes a session — as a journalling file system
// replays its log before it mounts. Ops are idempotent for replay from the last checkpoint
// (docs/ARCHITECTURE.md, "Durability and replay"), which is where the applier starts.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { DurableCounter } from '../shared/durable-counter.js';
import { readJsonFile } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import { Applier } from './applier.js';
import { Confiner } from './confine.js';
import { GroupLog } from './group-log.js';
import type { Redo, StageMeta } from './group-stage.js';
import type { ModePolicy } from './mode-policy.js';

/** Bytes queued in the recovery's applier before the log is read on. */
const QUEUE_BYTES = 8 * 1024 * 1024;

/** Rolls every replica's committed group forward; returns how many were. */
export async function recoverGroups(stateDir: string, modes: ModePolicy): Promise<number> {
  const root = path.join(stateDir, 'target-groups');
  let n = 0;
  for (const name of await fsp.readdir(root).catch(() => [] as string[])) {
    const dir = path.join(root, name);
    const meta = await readJsonFile<StageMeta | null>(path.join(dir, 'meta.json'), null);
    const redo = await readJsonFile<Redo | null>(path.join(dir, 'redo.json'), null);
    if (!meta || !redo) continue;
    const counter = await DurableCounter.open(meta.counterFile);
    try {
      if (counter.tag === meta.epoch && counter.value < redo.lastSeq) {
        await rollForward(dir, meta, redo, counter, modes);
        log.info(`${meta.targetPath}: group ${redo.group} rolled forward to seq ${redo.lastSeq}`);
        n++;
      }
      await fsp.rm(path.join(dir, 'redo.json'), { force: true });
    } finally {
      await counter.close();
    }
  }
  return n;
}

/** Applies the log's ops after the replica's applied seq up to the redo's last one. */
async function rollForward(
  dir: string,
  meta: StageMeta,
  redo: Redo,
  counter: DurableCounter,
  modes: ModePolicy,
): Promise<void> {
  const ops = await GroupLog.open(path.join(dir, 'ops.log'));
  try {
    if (ops.lastSeq < redo.lastSeq)
      throw new Error(
        `${meta.targetPath}: the staging log ends at seq ${ops.lastSeq}, before the committed group's ${redo.lastSeq}`,
      );
    let done!: () => void;
    let fail!: (err: Error) => void;
    const finished = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
    const applier = new Applier(new Confiner(meta.base, modes), counter, {
      ack: (seq) => seq >= redo.lastSeq && done(),
      need: (p, seq) =>
        log.warn(
          `${meta.targetPath}: "${p}" (seq ${seq}) has no valid basis; the source resends it`,
        ),
      failed: (err) => fail(err),
    });
    for await (const op of ops.read(counter.value, redo.lastSeq)) {
      while (applier.waitingBytes > QUEUE_BYTES) await new Promise((r) => setTimeout(r, 5));
      applier.enqueue(op);
    }
    await finished;
    await applier.stop();
    await ops.dropThrough(redo.lastSeq);
  } finally {
    await ops.close();
  }
}
