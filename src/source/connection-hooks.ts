// What the link asks of its connection: where to connect, the key, and what to do with what the
// target says (NEED, task reports, acks, a stream it cannot continue).
import { connectionKey } from './connection-config.js';
import type { Connection } from './connection.js';
import type { ConnectionTasks } from './connection-tasks.js';
import { wireOptions } from './dial.js';
import type { LinkHooks } from './link.js';

/** The link's hooks for `c`; `ack` records an acknowledgement (AckOrder). */
export function linkHooks(
  c: Connection,
  o: { ack: (seq: number) => Promise<void>; tasks: ConnectionTasks },
): LinkHooks {
  return {
    open: () => ({
      to: c.cfg.to,
      connection: c.cfg.name,
      targetPath: c.cfg.targetPath,
      epoch: c.cfg.epoch,
      sourceId: c.ctx.sourceId,
      wire: wireOptions(c.cfg, c.ctx),
    }),
    key: () => connectionKey(c.cfg, c.ctx.defaultKeyFile),
    // The target had no valid basis: resend in line, and a running mirror is not complete
    // before the resend is (the NEED comes just ahead of the ack that would complete it). The
    // path is where the renames queued since took it; a directory goes with all below it.
    need: (p, seq) => {
      const done = c.mirror.holdForResend();
      c.capture.detach(async () => {
        try {
          const now = await c.history.mapThrough(p, seq);
          if (now !== null) await c.capture.resendTree(now);
        } finally {
          done();
        }
      });
    },
    acked: o.ack,
    event: (h) => o.tasks.onTargetEvent(h),
    beforeSend: (rec) => o.tasks.beforeSend(rec),
    sent: (rec) => o.tasks.sent(rec),
    refused: (counts, names) => c.capture.skipped.fromTarget(counts, names),
    mismatch: () => c.restartStream(),
  };
}
