// A connection's timers: acks followed into mirror progress and remirror bookkeeping, the
// periodic rescan under the watcher, and the stamp pages kept built (stamp-keeper.ts).
import { log } from '../shared/log.js';
import type { Capture } from './capture.js';
import type { ConnectionConfig } from './connection-config.js';
import type { Journal } from '../journal/journal.js';
import type { Mirror } from './mirror.js';
import type { PathHistory } from './need.js';
import type { QueueOverflow } from './queue-overflow.js';
import { keepStampPages } from './stamp-keeper.js';

/** How often the whole tree is compared with the index, whatever the watcher reported. */
export const RESCAN_INTERVAL_MS = 10 * 60_000;

/** What the timers look at. */
export interface TimerParts {
  name: string;
  cfg: ConnectionConfig;
  journal: Journal;
  mirror: Mirror;
  capture: Capture;
  history: PathHistory;
  overflow: Pick<QueueOverflow, 'reason'>;
  save: () => Promise<void>;
}

/** Starts both timers; returns what stops them. */
export function startTimers(c: TimerParts): () => void {
  // Acks arrive in the link; progress and remirror bookkeeping follow them here.
  let lastAcked = c.journal.ackedSeq;
  const ackPoll = setInterval(() => {
    if (c.journal.ackedSeq !== lastAcked || c.mirror.active) {
      lastAcked = c.journal.ackedSeq;
      c.history.trim();
      c.mirror.onAck();
    }
    // Checked on every tick, not only on an ack: the last ack may come before the mirror ends.
    if (c.cfg.remirrorRequired && c.mirror.progress.state === 'complete' && c.cfg.replicate) {
      if (c.overflow.reason) return; // the remirror that clears it comes once the queue resumes
      c.cfg.remirrorRequired = false;
      c.save().catch((err: Error) => log.error(`${c.name}: cannot save state: ${err.message}`));
    }
  }, 50);
  // A safety net under the watcher, as Syncthing's periodic scan is: file system events can be
  // lost (a watch set up just after a file appeared, an inotify queue overflow), and a rescan
  // compares the whole tree with the index. Cheap when nothing was missed: an lstat each.
  const rescanTimer = setInterval(() => {
    if (!c.capture.enabled || c.mirror.active) return;
    c.capture.rescan().catch((err: Error) => log.warn(`${c.name}: rescan: ${err.message}`));
  }, RESCAN_INTERVAL_MS);
  rescanTimer.unref();
  const index = c.capture.ledger.index;
  // Not while a mirror writes the entries, nor during a restart's walk (which reads them).
  const busy = (): boolean => c.mirror.active || c.capture.reconciler.runningRestart !== null;
  const stopKeeper = keepStampPages(index.stampPages(), busy, c.name);
  return () => {
    clearInterval(ackPoll);
    clearInterval(rescanTimer);
    stopKeeper();
  };
}
