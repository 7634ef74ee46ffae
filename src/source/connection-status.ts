// The contract's `status` object of one connection, from its parts' state.
import type {
  AuditProgressView,
  ConnectionStatus,
  MirrorProgress,
  RestoreProgress,
  WatcherStatus,
} from '../control/replies.js';
import type { Journal } from '../journal/journal.js';
import type { ConnectionConfig } from './connection-config.js';
import type { Link } from './link.js';
import type { WireOptions } from './dial.js';
import type { SkippedStatus } from './skipped.js';

/** What a status is made of. */
export interface StatusParts {
  cfg: ConnectionConfig;
  link: Pick<Link, 'state' | 'lastError' | 'targetFault' | 'sentBytes' | 'wireBytes'>;
  journal: Pick<Journal, 'stats' | 'lastSeq' | 'ackedSeq' | 'limit'>;
  mirror: MirrorProgress;
  tasksPending: number;
  /** How the link is secured and compressed. */
  transport: WireOptions;
  /** Why deletions found by a reconciliation are held back by the brake, or null. */
  held: string | null;
  /** A restart's reconciliation runs or is not acknowledged yet. */
  reconciling: boolean;
  /** The watcher; null while replication is off. */
  watcher: WatcherStatus | null;
  /** The last restore, once there has been one. */
  restore?: RestoreProgress;
  /** Why the queue stopped taking changes (its limit, a full disk), or null. */
  overflow: { reason: string | null };
  /** The verify or orphans listing running now. */
  audit?: AuditProgressView;
  /** What was not replicated, by reason (the target's prefixed `target:`). */
  skipped: SkippedStatus;
  /** Crash mode's groups (consistency-mode.ts); absent in file mode. */
  groups?: ConnectionStatus['groups'];
}

/** The target's state as the contract names it. */
function targetState(s: StatusParts): ConnectionStatus['targetState'] {
  if (s.cfg.remirrorRequired) return 'remirror-required';
  if (s.held) return 'error';
  if (s.cfg.transmit === 'paused') return 'paused';
  // The target reported it cannot apply (a full disk): an error even while the link is up.
  if (s.link.targetFault || s.groups?.error) return 'error';
  // Changes made while the source was down are replayed in path order, not in the order they
  // happened: until they are all applied the replica may not be a state the source went through.
  if (s.reconciling) return 'reconciling';
  return s.link.state !== 'connected' && s.link.lastError ? 'error' : 'ok';
}

/** One connection's status. */
export function connectionStatus(s: StatusParts): ConnectionStatus {
  const { cfg, link, journal } = s;
  return {
    name: cfg.name,
    target: cfg.to,
    path: cfg.path,
    targetPath: cfg.targetPath,
    link: link.state,
    replication: cfg.replicate ? 'on' : 'off',
    transmit: cfg.transmit,
    targetState: targetState(s),
    consistency: cfg.consistency ?? 'file',
    ...(s.groups ? { groups: s.groups } : {}),
    mirror: { ...s.mirror },
    queue: { ...journal.stats(), limit: journal.limit.value },
    bandwidth: cfg.bandwidth,
    lastCapturedSeq: journal.lastSeq,
    lastAckedSeq: journal.ackedSeq,
    sent: { bytes: link.sentBytes, wireBytes: link.wireBytes },
    transport: s.transport,
    tasks: { pending: s.tasksPending },
    watcher: s.watcher,
    skipped: s.skipped,
    // A stopped queue first: it is what keeps the target from being in line.
    lastError:
      s.overflow.reason ??
      (s.held ? `deletions held by the safety brake: ${s.held}` : null) ??
      (s.groups?.error ? `crash mode: ${s.groups.error}` : link.lastError),
    ...(s.restore ? { restore: { ...s.restore } } : {}),
    ...(s.audit ? { audit: s.audit } : {}),
  };
}
