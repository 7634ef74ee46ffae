// What a connection does when its watcher says changes may have been lost (an overflowed event
// queue): log it, count it, and compare the whole tree with the known state — never carry on as if
// nothing happened. One rescan at a time; a miss reported during one runs another after it.
// While a mirror runs the rescan waits for its end: the mirror's own scan covers what it has not
// reached yet, and a rescan against its half-built known state would send every file it has not
// compared yet whole.
import { log } from '../shared/log.js';

/** How often a rescan held back by a running mirror looks again. */
const MIRROR_POLL_MS = 500;

/** What MissedChanges needs from its connection. */
export interface RescanDeps {
  /** Connection name, for the log. */
  name: string;
  /** Compares the whole tree with the known state and hints every difference. */
  rescan(): Promise<void>;
  /** True while a mirror runs. */
  mirrorActive(): boolean;
  /** False while replication is off: nothing is captured then, a rescan included. */
  capturing(): boolean;
}

/** The counts `status` shows. */
export interface MissedStats {
  /** Times the watcher reported possibly lost events. */
  missed: number;
  /** Rescans run for them (several misses during one rescan share the next one). */
  rescans: number;
}

/** Turns watcher misses into rescans of the tree. */
export class MissedChanges {
  private missed = 0;
  private rescans = 0;
  private running = false;
  private again = false;
  private waitTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: RescanDeps) {}

  /** The watcher's `missed`: logs, counts, rescans (now, after the running one or the mirror). */
  request(why: string): void {
    if (this.stopped) return;
    this.missed++;
    log.warn(`${this.deps.name}: watcher: ${why}; rescanning the tree for changes it missed`);
    this.again = true;
    this.run();
  }

  stats(): MissedStats {
    return { missed: this.missed, rescans: this.rescans };
  }

  /** Resolves once no rescan is running or waiting (tests). */
  async idle(): Promise<void> {
    while (this.running || this.waitTimer || (this.again && !this.stopped)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  private run(): void {
    if (this.running || this.waitTimer || !this.again || this.stopped) return;
    if (!this.deps.capturing()) {
      this.again = false; // replication off: `replicate on` remirrors whatever was missed
      return;
    }
    if (this.deps.mirrorActive()) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        this.run();
      }, MIRROR_POLL_MS);
      this.waitTimer.unref();
      return;
    }
    this.again = false;
    this.running = true;
    this.rescans++;
    this.deps
      .rescan()
      .catch((err: Error) => log.warn(`${this.deps.name}: rescan: ${err.message}`))
      .finally(() => {
        this.running = false;
        this.run();
      });
  }
}
