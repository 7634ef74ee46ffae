// What `--consistency crash` changes in a connection, in one place: capture reads from btrfs
// snapshots and its index ignores their devices, watcher hints wait for the next cycle, the
// barrier cuts a group, and `wait --for group` waits for the target to acknowledge one.
import { promises as fsp } from 'node:fs';
import type { PathIndex } from '../index/index.js';
import type { Journal } from '../journal/journal.js';
import { SmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Capture } from './capture.js';
import type { ConnectionConfig } from './connection-config.js';
import { ConsistencyGroups, type GroupMark } from './consistency-groups.js';
import { snapshotDevIndex } from './consistency-index.js';
import { snapshotPlace, Snapshots } from './consistency-snapshots.js';

/** What the watcher feeds (watch-connection.ts). */
type WatchedCapture = Pick<Capture, 'enabled' | 'hint' | 'rescan' | 'markLost'>;

/** `status().groups` in crash mode. */
export type GroupsStatus = ReturnType<ConsistencyGroups['status']> & { error: string | null };

/** `wait --for group` of connection `name` (exit 2 in file mode). */
export function waitGroup(
  crash: CrashMode | null,
  name: string,
  journal: Pick<Journal, 'ackedSeq'>,
  timeoutMs: number,
): Promise<GroupMark> {
  if (!crash) throw new SmrError('usage', `${name}: no groups in file mode (--consistency file)`);
  return crash.waitGroup(journal, timeoutMs);
}

/** A crash-mode connection's groups and snapshots. */
export class CrashMode {
  private groups: ConsistencyGroups | null = null;

  private constructor(private readonly snaps: Snapshots) {}

  /** The crash mode of `cfg`, or null for a file-mode connection. */
  static async open(cfg: ConnectionConfig): Promise<CrashMode | null> {
    if (cfg.consistency !== 'crash') return null;
    return new CrashMode(new Snapshots(await snapshotPlace(cfg.path, cfg.name)));
  }

  /** The index as capture must see it (consistency-index.ts). */
  index(index: PathIndex): PathIndex {
    return snapshotDevIndex(
      index,
      () => this.groups?.readDev() ?? 0n,
      () => this.groups?.racyFloorNs() ?? 0n,
    );
  }

  /** Points capture at a first snapshot; from now on it reads only from snapshots. */
  async start(capture: Capture): Promise<void> {
    this.groups = new ConsistencyGroups(capture, this.snaps);
    await this.groups.start();
  }

  /** The capture the watcher feeds: its hints wait for the next cycle. */
  watched(capture: Capture): WatchedCapture {
    const groups = (): ConsistencyGroups => this.started();
    return {
      get enabled() {
        return capture.enabled;
      },
      hint: (rel) => groups().hint(rel),
      rescan: (o) => capture.rescan(o),
      markLost: () => capture.markLost(),
    };
  }

  /**
   * The watcher is up: changes made between the first snapshot and now were hinted to nobody, so
   * a group read from a snapshot taken now is compared with the index as a whole.
   */
  watching(): void {
    this.started()
      .cut({ rescan: true })
      .catch((err: Error) => log.error(`crash mode: ${err.message}`));
  }

  /**
   * The barrier of `wait` and `queue-task`: a group cut after the call, the whole tree compared;
   * `beforeMark` queues its op (a task marker) as that group's last, at the group boundary.
   */
  async barrier(beforeMark?: () => Promise<void>): Promise<void> {
    await this.started().cut({ rescan: true, beforeMark });
  }

  /** `wait --for group`: cuts a group and resolves once the target acknowledged it. */
  async waitGroup(journal: Pick<Journal, 'ackedSeq'>, timeoutMs: number): Promise<GroupMark> {
    const end = Date.now() + timeoutMs;
    const mark = (await this.started().cut()) as GroupMark; // not timed: always a group
    while (journal.ackedSeq < mark.seq) {
      if (Date.now() >= end)
        throw new SmrError(
          'timeout',
          `group ${mark.group} (seq ${mark.seq}) not applied on the target after ${Math.round(timeoutMs / 1000)}s (acked ${journal.ackedSeq})`,
        );
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, end - Date.now()))));
    }
    return mark;
  }

  /** The groups part of `status`. */
  status(ackedSeq: number): GroupsStatus | undefined {
    if (!this.groups) return undefined;
    return { ...this.groups.status(ackedSeq), error: this.groups.error };
  }

  /** Deletes every snapshot of the connection and their directory (`disconnect`). */
  async forget(): Promise<void> {
    await this.snaps.dropAll();
    await fsp.rmdir(this.snaps.place.dir).catch(() => undefined);
  }

  /** Stops cutting groups. */
  stop(): void {
    this.groups?.stop();
  }

  private started(): ConsistencyGroups {
    if (!this.groups) throw new SmrError('internal', 'crash mode used before it started');
    return this.groups;
  }
}
