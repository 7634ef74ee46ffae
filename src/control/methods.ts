// The control channel's one table: every method the source daemon answers, with its request
// and reply types. The daemon implements it (src/source/handlers.ts), the verbs call it
// (src/cli/daemon-call.ts); a method, parameter or reply that does not fit is a compile error.
import { SmrError } from '../shared/errors.js';
import type {
  ConnectionStatus,
  DryRunResult,
  MirrorMode,
  OrphansResult,
  RunNowReply,
  ScheduleJobReply,
  TaskEntry,
  TaskOn,
  VerifyResult,
} from './replies.js';

/** One method: what it takes and what it answers. */
interface Method<P, R> {
  params: P;
  reply: R;
}

type Named = { name: string };
type NoParams = Record<string, never>;

/** What `connect` records. */
export interface ConnectParams {
  name: string;
  to: string;
  path: string;
  targetPath?: string;
  include: string[];
  exclude: string[];
  mirror: MirrorMode | 'none';
  replicate?: boolean;
  keyFile?: string;
  /** Compression of the link (default: zstd for data that compresses). */
  compress?: 'zstd' | 'lz4' | 'none';
  /** Plaintext link; the target must run with --insecure-no-tls too. */
  insecureNoTls?: boolean;
  /** The file watcher (default native: a kernel watch per directory; chokidar where it cannot run). */
  watcher?: 'native' | 'chokidar';
  /** Bound on the queue in bytes (absent: the default, queueLimitFor in src/journal). */
  queueLimit?: number;
  /** `file` (default) or `crash` (groups read from btrfs snapshots, applied whole). */
  consistency?: 'file' | 'crash';
  /** What is replicated besides content and mode (`--no-owner` etc.); absent: everything. */
  preserve?: Preserve;
}

/** The attributes a connection replicates (`connect --no-owner/--no-xattrs/--no-acls/--no-hard-links`). */
export interface Preserve {
  owner: boolean;
  xattrs: boolean;
  acls: boolean;
  hardLinks: boolean;
}

/** What `queue-task` queues. */
export interface QueueTaskParams {
  name: string;
  on: TaskOn;
  command: string;
  args: string[];
  timeoutMs: number;
  wait?: boolean;
  waitTimeoutMs?: number;
}

/** What `smr restore` asks. */
export interface RestoreParams {
  name: string;
  /** `--to DIR` (absolute); else the connection's path. */
  to?: string;
  mode: MirrorMode;
  only: string[];
  force?: boolean;
  /** `--from-snapshot NAME`: a snapshot of the replica made by the shipped snapshot tasks. */
  from?: string;
  /** Answer when the restore (and its confirming mirror) has ended. */
  wait?: boolean;
}

/** What `--dry-run` of one verb asks (its real run's parameters); nothing is changed. */
export type DryRunParams = Named &
  (
    | {
        operation: 'mirror';
        mode: MirrorMode;
        newerOnly?: boolean;
        deleteOrphans?: boolean;
        force?: boolean;
      }
    | { operation: 'orphans'; delete?: boolean; force?: boolean; maxDeletePercent?: number }
    | { operation: 'verify-fix'; mode: 'diff' | 'checksum' }
    | ({ operation: 'restore' } & Omit<RestoreParams, 'name' | 'wait'>)
  );

/** The source daemon's methods. */
export interface SourceMethods {
  ping: Method<NoParams, { ok: true; pid: number }>;
  status: Method<Named, ConnectionStatus>;
  connections: Method<NoParams, { connections: ConnectionStatus[] }>;
  connect: Method<ConnectParams, ConnectionStatus>;
  disconnect: Method<Named, { name: string; disconnected: true }>;
  replicate: Method<Named & { on: boolean }, ConnectionStatus>;
  transmit: Method<Named & { action: 'start' | 'stop' | 'pause' | 'resume' }, ConnectionStatus>;
  limit: Method<Named & { bandwidth: number | null }, ConnectionStatus>;
  wait: Method<
    Named & { for: 'synced' | 'mirrored' | 'group'; timeoutMs: number },
    ConnectionStatus
  >;
  mirror: Method<
    Named & {
      action: 'start' | 'stop' | 'pause' | 'resume';
      mode?: MirrorMode;
      newerOnly?: boolean;
      deleteOrphans?: boolean;
      /** Deletions pass the safety brake (and held ones go). */
      force?: boolean;
    },
    ConnectionStatus
  >;
  'queue-task': Method<QueueTaskParams, TaskEntry>;
  verify: Method<Named & { mode: 'diff' | 'checksum'; fix?: boolean }, VerifyResult>;
  orphans: Method<
    Named & { delete?: boolean; force?: boolean; maxDeletePercent?: number },
    OrphansResult
  >;
  'dry-run': Method<DryRunParams, DryRunResult>;
  restore: Method<RestoreParams, ConnectionStatus>;
  tasks: Method<{ name?: string }, { tasks: Array<TaskEntry & { connection: string }> }>;
  'task-wait': Method<Named & { id: string; timeoutMs: number }, TaskEntry>;
  'schedule-add': Method<{ job: string; cron: string; argv: string[] }, ScheduleJobReply>;
  'schedule-list': Method<NoParams, { jobs: ScheduleJobReply[] }>;
  'schedule-remove': Method<{ job: string }, ScheduleJobReply>;
  'schedule-run': Method<{ job: string }, RunNowReply>;
}

/** A method's name. */
export type SourceMethod = keyof SourceMethods;
/** What a method takes. */
export type ParamsOf<K extends SourceMethod> = SourceMethods[K]['params'];
/** What a method answers. */
export type ReplyOf<K extends SourceMethod> = SourceMethods[K]['reply'];

/** The daemon's side: one function per method. */
export type SourceHandlerTable = {
  [K in SourceMethod]: (params: ParamsOf<K>) => Promise<ReplyOf<K>>;
};

/** True when `m` names a method of the table (`table` is any object keyed like it). */
export function isMethod(table: object, m: string): m is SourceMethod {
  return Object.hasOwn(table, m);
}

/** A raw request handler, as the control server calls it. */
export type ControlDispatch = (method: string, params: Record<string, unknown>) => Promise<unknown>;

/** Routes raw requests to the table; an unknown method is a usage error. */
export function dispatcher(table: SourceHandlerTable): ControlDispatch {
  return async (method, params) => {
    if (!isMethod(table, method))
      throw new SmrError('usage', `unknown control request "${method}"`);
    return run(table, method, params);
  };
}

function run<K extends SourceMethod>(
  table: SourceHandlerTable,
  method: K,
  params: Record<string, unknown>,
): Promise<ReplyOf<K>> {
  // The verbs that send these are compiled against this same table (callSource).
  return table[method](params as ParamsOf<K>);
}
