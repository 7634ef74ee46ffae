// One connection's watching: the watcher of its recorded backend feeding capture's hints, and the
// rescans its reports of lost events call for. Started and closed with replication.
import type { Capture } from './capture.js';
import type { PathFilter } from './filter.js';
import type { WatcherStatus } from '../control/replies.js';
import { MissedChanges } from './watch-rescan.js';
import { startWatcher, type DirId, type Watcher, type WatcherBackend } from './watcher.js';

/** What a connection's watching needs. */
export interface ConnectionWatchDeps {
  name: string;
  base: string;
  filter: PathFilter;
  backend: WatcherBackend;
  capture: Pick<Capture, 'enabled' | 'hint' | 'rescan' | 'markLost'>;
  /** True while a mirror runs (a rescan waits for its end). */
  mirrorActive(): boolean;
}

/** `status`'s `watcher` (the contract's shape, control/replies.ts); null while replication is off. */
export type WatchStatus = WatcherStatus | null;

/** A connection's watcher and its rescans. */
export class ConnectionWatch {
  private watcher: Watcher | null = null;
  private readyMs = 0;
  private readonly missed: MissedChanges;
  private reported = 0;
  /** Started deferred, and the restart's walk has not ended yet. */
  private deferred = false;
  private startedAt = 0;

  constructor(private readonly d: ConnectionWatchDeps) {
    this.missed = new MissedChanges({
      name: d.name,
      rescan: async () => {
        await d.capture.rescan();
      },
      mirrorActive: () => d.mirrorActive(),
      capturing: () => d.capture.enabled,
    });
  }

  /**
   * Starts watching; resolves once every directory is watched, or (`deferred`, a restart) once the
   * root is: the restart's walk then watches each directory as it lists it (place, endDeferred).
   * Not in crash mode: the first group it cuts once watching assumes every directory watched.
   */
  async start(deferred = false): Promise<void> {
    const { capture } = this.d;
    const t0 = (this.startedAt = Date.now());
    this.reported = 0;
    this.deferred = deferred;
    this.watcher = await startWatcher({
      base: this.d.base,
      filter: this.d.filter,
      backend: this.d.backend,
      deferred,
      sink: {
        hint: (rel) => {
          this.reported++;
          if (capture.enabled) capture.hint(rel);
        },
        // Marked at once, so no `wait` says synced before the rescan (which may wait for a
        // mirror's end) has looked at everything again.
        missed: (why) => {
          this.reported++;
          capture.markLost();
          this.missed.request(why);
        },
      },
    });
    this.readyMs = Date.now() - t0;
  }

  /** After a deferred start: the restart's walk is about to list `rel`; it is watched first. */
  place(rel: string, st: DirId): void {
    if (this.deferred) this.watcher?.place?.(rel, st);
  }

  /** The restart's walk ended; when it did not finish (`walked` false) the watcher goes on alone. */
  endDeferred(walked: boolean): void {
    if (!this.deferred) return;
    // status: ready once the pass that watched every directory ended
    if (walked) this.readyMs = Date.now() - this.startedAt;
    else this.watcher?.placeRest?.();
    this.deferred = false;
  }

  /** Stops watching (replication off); a later start watches again. */
  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    await w?.close();
  }

  /** True while a watcher runs (replication on, and its start succeeded). */
  get watching(): boolean {
    return this.watcher !== null;
  }

  /** What the watcher reported since it started (hints and misses): 0, it saw nothing happen. */
  get reports(): number {
    return this.reported;
  }

  /**
   * Whether every change below the base reaches capture as soon as its event is read: the native
   * backend (chokidar holds some events back) with every directory watched.
   */
  get complete(): boolean {
    const s = this.watcher?.stats();
    return s?.backend === 'native' && s.unwatched === 0;
  }

  /** Capture learned of a directory: make sure it is watched. */
  watchDir(rel: string): void {
    this.watcher?.watchDir(rel);
  }

  status(): WatchStatus {
    if (!this.watcher) return null;
    return { ...this.watcher.stats(), readyMs: this.readyMs, ...this.missed.stats() };
  }

  /** Stops for good: no rescan starts after this. */
  async stop(): Promise<void> {
    this.missed.stop();
    await this.close();
  }
}
