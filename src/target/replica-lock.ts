// Which target paths are being written right now: two sources may not write the same (or a nested)
// target path at once. A session that has ended but is still finishing (applying what it
// committed, closing its files) is waited for, briefly, rather than refused: a source that
// reconnects at once (its link dropped) would otherwise be told path-busy by its own old session.
import { SmrError } from '../shared/errors.js';

/** How long a new session waits for an ended one on the same path to let go (below the OPEN timeout). */
export const ENDING_WAIT_MS = 5_000;

/** One session's hold on a replica path. */
export interface ReplicaHold {
  /** The session ended (its peer is closed); it still writes until `release`. */
  ending(): void;
  /** The session let go of the path. */
  release(): void;
}

interface Holder {
  who: string;
  ending: boolean;
}

/** In-process registry of replica paths held by live sessions. */
export class ReplicaLocks {
  private held = new Map<string, Holder>(); // targetPath -> holder
  private waiters = new Set<() => void>();

  private conflict(targetPath: string): [string, Holder] | undefined {
    for (const [p, h] of this.held) {
      if (p === targetPath || p.startsWith(targetPath + '/') || targetPath.startsWith(p + '/'))
        return [p, h];
    }
    return undefined;
  }

  /** Resolves once no ended session holds a path nested with `targetPath`, or after `ms`. */
  async settled(targetPath: string, ms = ENDING_WAIT_MS): Promise<void> {
    const end = Date.now() + ms;
    while (this.conflict(targetPath)?.[1].ending && Date.now() < end) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, end - Date.now()));
        this.waiters.add(wake);
      });
    }
  }

  /** Throws path-busy when another session holds this path or one nested with it. */
  check(targetPath: string): void {
    const c = this.conflict(targetPath);
    if (c) {
      const [p, h] = c;
      throw new SmrError(
        'path-busy',
        `target path "${targetPath}" is already being written by ${p} (${h.who})`,
        'give each connection its own --target-path',
      );
    }
  }

  /** Takes the path; returns the hold. */
  acquire(targetPath: string, who: string): ReplicaHold {
    this.check(targetPath);
    const holder: Holder = { who, ending: false };
    this.held.set(targetPath, holder);
    return {
      ending: () => {
        holder.ending = true;
      },
      release: () => {
        if (this.held.get(targetPath) === holder) this.held.delete(targetPath);
        const woken = [...this.waiters];
        this.waiters.clear();
        for (const wake of woken) wake();
      },
    };
  }
}
