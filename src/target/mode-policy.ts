// Which mode bits a source may set on the target's files. A source holds the key, not the target
// host: by default it cannot make a setuid/setgid file that group or others could rewrite (anyone
// could then run their own code with the owner's rights); with --no-suid it cannot set those bits
// at all. Whatever is stripped is logged, once per path, never silently.
import { log } from '../shared/log.js';

const SUID_SGID = 0o6000;
const GROUP_OR_OTHER_WRITE = 0o022;
const LOGGED_PATHS_MAX = 1000;

/** The target's rule for setuid/setgid bits, applied to every mode a source asks for. */
export class ModePolicy {
  private readonly logged = new Set<string>();
  /** How many modes had setuid/setgid removed since the daemon started. */
  stripped = 0;

  constructor(private readonly noSuid: boolean) {}

  /**
   * The mode to set for `rel` when the source asks for `mode`. A directory's setgid only makes
   * new entries inherit its group (a shared group-writable directory's usual mode): it is kept.
   */
  apply(rel: string, mode: number, isDir = false): number {
    const m = mode & 0o7777;
    if (!(m & SUID_SGID) || isDir) return m;
    const why = this.noSuid
      ? 'the target runs with --no-suid'
      : m & GROUP_OR_OTHER_WRITE
        ? 'it would be writable by group or others'
        : null;
    if (!why) return m;
    this.stripped++;
    if (!this.logged.has(rel) && this.logged.size < LOGGED_PATHS_MAX) {
      this.logged.add(rel);
      log.warn(`${rel}: setuid/setgid removed from mode ${m.toString(8)} (${why})`);
    }
    return m & ~SUID_SGID;
  }
}
