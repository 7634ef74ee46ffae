// Ending a task together with every process it started.
import { execFile } from 'node:child_process';

/**
 * Sends `signal` to the process group led by `pid` (tasks are spawned detached, so each leads its
 * own group). On Windows, taskkill /T ends the tree (always forcibly: Windows has no SIGTERM).
 * Never throws: the processes may already be gone.
 */
export async function killProcessTree(pid: number, signal: NodeJS.Signals): Promise<void> {
  if (process.platform === 'win32') {
    // (execa lives in run.ts only; a failure here means the tree is gone already.)
    await new Promise<void>((resolve) => {
      execFile('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true }, () =>
        resolve(),
      );
    });
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone. EPERM: not ours to kill; nothing more we can do.
  }
}

const liveGroups = new Set<number>();
let exitHooked = false;

/**
 * Kills the process group `pid` if smr itself exits while it still runs, so no task outlives the
 * daemon unnoticed. One 'exit' listener serves every task. Returns the function that forgets it.
 */
export function killOnParentExit(pid: number): () => void {
  if (process.platform === 'win32') return () => undefined;
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const group of liveGroups) void killProcessTree(group, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
  return () => liveGroups.delete(pid);
}
