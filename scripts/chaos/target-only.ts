// Files a person put into the replica (target-only paths, orphans to smr): a restart must keep
// them unless orphan deletion was asked for (issue 10). `--target-only N` plants N of them below
// one directory whose name the workload never uses, and checks at the end that each is still there.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { TreeDiff } from './tree.js';

/** Where the planted files go, at the top of the replica. */
export const TARGET_ONLY_DIR = 'operator-notes';

/** Writes `n` files below the replica's TARGET_ONLY_DIR; returns their paths and contents. */
export async function plantTargetOnly(replica: string, n: number): Promise<Map<string, string>> {
  const planted = new Map<string, string>();
  if (n <= 0) return planted;
  await fsp.mkdir(path.join(replica, TARGET_ONLY_DIR), { recursive: true });
  for (let i = 0; i < n; i++) {
    const rel = `${TARGET_ONLY_DIR}/note-${i}.txt`;
    const text = `put here by a person, not by smr (${i})\n`;
    await fsp.writeFile(path.join(replica, rel), text);
    planted.set(rel, text);
  }
  return planted;
}

/** The planted files that are gone from the replica or no longer hold what was written. */
export async function lostTargetOnly(
  replica: string,
  planted: Map<string, string>,
): Promise<string[]> {
  const lost: string[] = [];
  for (const [rel, text] of planted) {
    const now = await fsp.readFile(path.join(replica, rel), 'utf8').catch(() => null);
    if (now !== text) lost.push(rel);
  }
  return lost;
}

/** Leaves out the planted tree from a comparison (it is meant to be target-only). */
export function withoutTargetOnly(diffs: TreeDiff[]): TreeDiff[] {
  return diffs.filter(
    (d) =>
      !(
        d.kind === 'extra' &&
        (d.path === TARGET_ONLY_DIR || d.path.startsWith(TARGET_ONLY_DIR + '/'))
      ),
  );
}
