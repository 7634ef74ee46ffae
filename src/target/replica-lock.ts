// Which target paths are being written right now: two sources may not write the same (or a nested)
// target path at once.
import { SmrError } from '../shared/errors.js';

/** In-process registry of replica paths held by live sessions. */
export class ReplicaLocks {
  private held = new Map<string, string>(); // targetPath -> holder description

  private conflict(targetPath: string): string | undefined {
    for (const [p, who] of this.held) {
      if (p === targetPath || p.startsWith(targetPath + '/') || targetPath.startsWith(p + '/'))
        return `${p} (${who})`;
    }
    return undefined;
  }

  /** Throws path-busy when another session holds this path or one nested with it. */
  check(targetPath: string): void {
    const c = this.conflict(targetPath);
    if (c) {
      throw new SmrError(
        'path-busy',
        `target path "${targetPath}" is already being written by ${c}`,
        'give each connection its own --target-path',
      );
    }
  }

  /** Takes the path; returns the release function. */
  acquire(targetPath: string, who: string): () => void {
    this.check(targetPath);
    this.held.set(targetPath, who);
    return () => {
      if (this.held.get(targetPath) === who) this.held.delete(targetPath);
    };
  }
}
