// The shapes the source daemon answers verbs with: the contract's JSON (docs and
// /work/shared/CLI-CONTRACT.md), shared by the daemon that builds them and the CLI that renders
// them. The daemon's own types must fit these; a change here is a change of the contract.

/** The link to the target. */
export type LinkState = 'connected' | 'connecting' | 'disconnected';
/** Whether the queue is sent. */
export type TransmitState = 'started' | 'paused' | 'stopped';
/** The states of a mirror. */
export type MirrorState = 'idle' | 'calculating' | 'mirroring' | 'paused' | 'complete' | 'stopped';
/** How a mirror compares. */
export type MirrorMode = 'full' | 'diff' | 'checksum';

/** The contract's mirror progress block. */
export interface MirrorProgress {
  state: MirrorState;
  mode: MirrorMode | null;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Of bytesTotal (filesTotal when no bytes), once totalsKnown; 0 while they still grow. */
  percent: number;
  /** False while the scan still finds work (filesTotal and bytesTotal still grow). */
  totalsKnown: boolean;
  orphans: number;
  /** Orphans deleted (a directory counts once, with its contents). */
  deleted: number;
  /** Why the safety brake kept the orphans a `--delete-orphans` mirror was asked to delete. */
  orphansHeld?: string;
  error?: string;
}

/** The watcher of a connection (`connect --watcher`) and the event losses it reported. */
export interface WatcherStatus {
  backend: 'native' | 'chokidar';
  /** Directories with a watch of their own (native); null where the backend does not say. */
  watchedDirs: number | null;
  /** Directories that could not be watched (watch limit, permissions). */
  unwatched: number;
  /** How long the watcher's start took, ms. */
  readyMs: number;
  /** Times the watcher reported possibly lost events (a kernel queue overflow). */
  missed: number;
  /** Rescans of the tree run for them. */
  rescans: number;
}

/** The states of a restore job (`idle` before the first). */
export type RestoreState =
  'idle' | 'calculating' | 'restoring' | 'confirming' | 'complete' | 'failed';

/** A restore job's progress, in `status` as `restore` (the counterpart of `mirror`). */
export interface RestoreProgress {
  state: RestoreState;
  mode: MirrorMode | null;
  /** Where it writes: the connection's path, or `--to DIR`. */
  to: string | null;
  /** The snapshot it reads instead of the replica (`--from-snapshot`). */
  from: string | null;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  /** Entries that could not be restored (each logged with why). */
  failed: number;
  /** Fifos, sockets and devices this source may not make (devices need root; each logged). */
  skipped?: number;
  error?: string;
}

/** A running verify or orphans listing, in `status` as `audit`: entries and bytes compared. */
export interface AuditProgressView {
  verb: 'verify' | 'orphans';
  mode: 'diff' | 'checksum';
  /** listing: the target's entries are being read; comparing: the source is walked against them. */
  state: 'listing' | 'comparing' | 'fixing';
  entriesDone: number;
  entriesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Crash mode's consistency groups as status shows them (source/consistency-groups.ts). */
export interface GroupsStatus {
  last: number | null;
  acked: number | null;
  point: string | null;
  behindMs: number | null;
  snapshotMs: number | null;
  intervalMs: number;
}

/** The contract's `status` object for one connection. */
export interface ConnectionStatus {
  name: string;
  target: string;
  path: string;
  targetPath: string;
  link: LinkState;
  replication: 'on' | 'off';
  transmit: TransmitState;
  targetState: 'ok' | 'remirror-required' | 'reconciling' | 'paused' | 'error';
  /** What the replica is at any moment: `file` (each file converges), `crash` (a source state). */
  consistency: 'file' | 'crash';
  /**
   * Crash mode: the last group cut on the source, the last the target acknowledged, its snapshot's
   * time and age (the replica's recovery point), the median snapshot time, the cycle.
   */
  groups?: GroupsStatus & { error: string | null };
  mirror: Omit<MirrorProgress, 'orphans' | 'error'> & { orphans?: number; error?: string };
  /** Un-acknowledged ops and bytes, and the bound on those bytes (`connect --queue-limit`). */
  queue: { ops: number; bytes: number; limit?: number | null };
  /** The bandwidth limit (`smr limit`), bytes/s; null = unlimited. */
  bandwidth: number | null;
  lastCapturedSeq: number;
  lastAckedSeq: number;
  sent: { bytes: number; wireBytes: number };
  /** How the link is secured and compressed (tls false only with --insecure-no-tls). */
  transport: { tls: boolean; compress: 'zstd' | 'lz4' | 'none' };
  tasks: { pending: number };
  /** The watcher in use; null while replication is off. */
  watcher: WatcherStatus | null;
  /** What was not replicated (logged once per path), by reason; the target's are `target:ATTR`. */
  skipped: { count: number; reasons: Record<string, number> };
  lastError: string | null;
  /** The last restore of this connection (`smr restore`). */
  restore?: RestoreProgress;
  /** The verify or orphans listing running now, if any. */
  audit?: AuditProgressView;
}

/** Where a task runs. */
export type TaskOn = 'execute' | 'receive' | 'queue' | 'transmit';
/** The states of a task. */
export type TaskState =
  'queued' | 'sent' | 'received' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'rejected';

/** One task as `smr tasks --json` shows it. */
export interface TaskEntry {
  id: string;
  on: TaskOn;
  command: string;
  args: string[];
  timeoutMs: number;
  seq: number | null;
  state: TaskState;
  exitCode: number | null;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  outputTail: string[];
  message?: string;
}

/** What verify reports about one path. */
export type DiffKind =
  | 'missing'
  | 'orphan'
  | 'type'
  | 'size'
  | 'mtime'
  | 'mode'
  | 'link'
  | 'content'
  | 'owner'
  | 'xattrs'
  | 'acl'
  | 'name'
  | 'hardlinks'
  | 'rdev';

/** One difference between source and target. */
export interface Difference {
  path: string;
  kind: DiffKind;
  source?: string | number;
  target?: string | number;
  /** checksum mode: bytes in blocks whose content differs (plus any size difference). */
  bytesOutOfSync?: number;
  /** An mtime difference of a regular file (its content may differ too, unless checksummed). */
  fileMtime?: boolean;
}

/** verify's result. */
export interface VerifyResult {
  name: string;
  mode: 'diff' | 'checksum';
  equal: boolean;
  files: number;
  bytes: number;
  /** Entries compared (files, directories, links, fifos, sockets, devices). */
  entries?: number;
  /** Of those, fifos, sockets and devices. */
  specials?: number;
  /** Entries not compared (a type smr does not replicate, a directory it cannot list), by why. */
  skipped?: { count: number; reasons: Record<string, number> };
  differences: Difference[];
  fixed?: number;
  before?: Difference[];
}

/** orphans' result. */
export interface OrphansResult {
  name: string;
  orphans: Array<{ path: string; type: string; size: number }>;
  deleted: number;
}

/** How one run of a scheduled job ended. */
export interface JobRunReply {
  startedAt: string;
  endedAt: string;
  exitCode: number;
  ok: boolean;
  output?: string;
  trigger?: 'schedule' | 'manual';
}

/** One scheduled job. */
export interface ScheduleJobReply {
  name: string;
  cron: string;
  argv: string[];
  createdAt: string;
  lastRun?: JobRunReply;
  skipped?: { count: number; lastAt: string };
}

/** What `schedule run` did. */
export type RunNowReply =
  { outcome: 'ran'; run: JobRunReply } | { outcome: 'skipped'; reason: 'still-running' };

/** What a dry run would do with one path. */
export type DryRunAction = 'create' | 'update' | 'delete' | 'skip';

/** One path of a dry run (docs/DRYRUN.md): what would happen to it, and its itemized line. */
export interface DryRunItem {
  path: string;
  /** f file, d directory, L symlink, D device, S fifo or socket (rsync's letters). */
  type: 'f' | 'd' | 'L' | 'D' | 'S';
  action: DryRunAction;
  /** Attributes that differ: content, size, mtime, mode, owner, group, acl, xattrs, type, link target. */
  attrs: string[];
  /** Data that would be sent (at most this many bytes: a delta sends less). */
  bytes: number;
  /** Why a path would be skipped (or is deleted). */
  reason?: string;
  /** The rsync -i style line: `<f.st...... path`. */
  line: string;
}

/** A dry run: nothing was changed; `items` is what the real run would do, in path order. */
export interface DryRunResult {
  name: string;
  dryRun: true;
  operation: 'mirror' | 'restore' | 'orphans' | 'verify-fix';
  mode?: MirrorMode;
  items: DryRunItem[];
  counts: Record<DryRunAction, number>;
  /** Bytes the creates and updates would send at most. */
  bytes: number;
  /** The real run would be refused as a whole (a safety brake, newer files): why. */
  refused?: string;
}
