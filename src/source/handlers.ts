// The source daemon's side of the control channel: one function per method of the table in
// src/control/methods.ts. Each acts on one connection (or the schedule) and returns data; verbs
// in src/cli render it.
import type { SourceHandlerTable, SourceMethods } from '../control/methods.js';
import type { ConnectionStatus, DryRunResult, TransmitState } from '../control/replies.js';
import { SmrError } from '../shared/errors.js';
import type { ScheduleStore, Scheduler } from '../schedule/index.js';
import { orphans, verify } from './audit.js';
import { orphansDryRun, verifyFixDryRun } from './audit-dry-run.js';
import { mirrorDryRun } from './mirror-dry-run.js';
import { restoreOptions } from './restore.js';
import { connect } from './connect.js';
import { waitGroup } from './consistency-mode.js';
import { removeConnection } from './connection-config.js';
import type { Connection, SourceContext } from './connection.js';

const DEFAULT_WAIT_MS = 24 * 3600 * 1000;
const TRANSMIT: Record<string, TransmitState> = {
  start: 'started',
  stop: 'stopped',
  pause: 'paused',
  resume: 'started',
};
const TASK_ON = ['execute', 'receive', 'queue', 'transmit'];

type P<K extends keyof SourceMethods> = SourceMethods[K]['params'];

/** The daemon's connections by name, and the methods over them. */
export class SourceHandlers {
  readonly connections = new Map<string, Connection>();

  constructor(
    private readonly ctx: SourceContext,
    private readonly schedule: { store: ScheduleStore; scheduler: Scheduler },
  ) {}

  /** The method table the control server dispatches to. */
  table(): SourceHandlerTable {
    const { store, scheduler } = this.schedule;
    return {
      ping: async () => ({ ok: true, pid: process.pid }),
      status: async (p) => this.get(p.name).status(),
      connections: async () => ({
        connections: [...this.connections.values()].map((c) => c.status()),
      }),
      connect: (p) => connect(this.ctx, this.connections, p),
      disconnect: (p) => this.disconnect(p.name),
      replicate: (p) => this.with(p.name, (c) => c.setReplicate(p.on)),
      transmit: (p) => this.transmit(p),
      limit: (p) => this.with(p.name, (c) => c.setBandwidth(p.bandwidth)),
      wait: (p) =>
        this.with(p.name, async (c) => {
          const ms = p.timeoutMs > 0 ? p.timeoutMs : DEFAULT_WAIT_MS;
          if (p.for === 'group') await waitGroup(c.crash, c.name, c.journal, ms);
          else await c.waitFor(p.for, ms);
        }),
      mirror: (p) => this.mirror(p),
      'queue-task': (p) => this.queueTask(p),
      verify: (p) => verify(this.get(p.name).audit(), p.mode, p.fix === true),
      orphans: (p) =>
        orphans(this.get(p.name).audit(), {
          delete: p.delete === true,
          force: p.force === true,
          maxShare: (p.maxDeletePercent ?? 50) / 100,
        }),
      'dry-run': (p) => this.dryRun(p),
      restore: (p) =>
        this.with(p.name, async (c) => {
          await c.restorer.start(restoreOptions(c.cfg.path, p), p.wait === true);
        }),
      tasks: async (p) => ({
        tasks: (p.name !== undefined ? [this.get(p.name)] : [...this.connections.values()]).flatMap(
          (c) => c.tasks.listTasks().map((t) => ({ connection: c.name, ...t })),
        ),
      }),
      'task-wait': (p) => this.get(p.name).tasks.waitTask(p.id, p.timeoutMs),
      'schedule-add': async (p) => {
        const job = await store.add({ name: p.job, cron: p.cron, argv: p.argv });
        await scheduler.reload();
        return job;
      },
      'schedule-list': async () => ({ jobs: await store.list() }),
      'schedule-remove': async (p) => {
        const job = await store.remove(p.job);
        await scheduler.reload();
        return job;
      },
      'schedule-run': async (p) => {
        await store.get(p.job); // an unknown job is exit 2
        return scheduler.runNow(p.job);
      },
    };
  }

  private get(name: string): Connection {
    const c = this.connections.get(name);
    if (!c) {
      throw new SmrError(
        'unknown-connection',
        `no connection named "${name}"`,
        'see `smr status` for the connections this source has',
      );
    }
    return c;
  }

  /** Acts on one connection, then answers with its status. */
  private async with(
    name: string,
    act: (c: Connection) => Promise<void>,
  ): Promise<ConnectionStatus> {
    const c = this.get(name);
    await act(c);
    return c.status();
  }

  private async disconnect(name: string): Promise<{ name: string; disconnected: true }> {
    const c = this.get(name);
    await c.stop();
    await c.crash?.forget(); // its snapshots on the source
    this.connections.delete(c.name);
    await removeConnection(this.ctx.stateDir, c.name);
    return { name: c.name, disconnected: true };
  }

  private transmit(p: P<'transmit'>): Promise<ConnectionStatus> {
    const t = Object.hasOwn(TRANSMIT, p.action) ? TRANSMIT[p.action] : undefined;
    if (!t)
      throw new SmrError(
        'usage',
        `unknown transmit action "${p.action}"`,
        'use start, stop, pause or resume',
      );
    return this.with(p.name, (c) => c.setTransmit(t));
  }

  private async mirror(p: P<'mirror'>): Promise<ConnectionStatus> {
    const c = this.get(p.name);
    const m = c.mirrorControl;
    if (p.action === 'start')
      c.startMirror({
        mode: p.mode ?? 'diff',
        newerOnly: p.newerOnly === true,
        deleteOrphans: p.deleteOrphans === true,
        force: p.force === true,
      });
    else if (p.action === 'stop') m.stop();
    else if (p.action === 'pause') m.pause();
    else if (p.action === 'resume') m.resume();
    else throw new SmrError('usage', `unknown mirror action "${String(p.action)}"`);
    return c.status();
  }

  /** `--dry-run` of mirror start, orphans --delete and verify --fix: what they would do. */
  private dryRun(p: P<'dry-run'>): Promise<DryRunResult> {
    const ctx = this.get(p.name).audit();
    switch (p.operation) {
      case 'mirror':
        return mirrorDryRun(ctx, {
          mode: p.mode,
          newerOnly: p.newerOnly === true,
          deleteOrphans: p.deleteOrphans === true,
          force: p.force === true,
        });
      case 'orphans':
        return orphansDryRun(ctx, {
          delete: p.delete === true,
          force: p.force === true,
          maxShare: (p.maxDeletePercent ?? 50) / 100,
        });
      case 'verify-fix':
        return verifyFixDryRun(ctx, p.mode);
      case 'restore':
        return this.get(p.name).restorer.dryRun(restoreOptions(ctx.base, p));
    }
  }

  private async queueTask(p: P<'queue-task'>) {
    const c = this.get(p.name);
    if (!TASK_ON.includes(p.on))
      throw new SmrError('usage', `bad --on "${p.on}"`, 'use execute, receive, queue or transmit');
    const t = await c.tasks.queueTask({
      on: p.on,
      command: p.command,
      args: p.args,
      timeoutMs: p.timeoutMs,
    });
    if (!p.wait) return t;
    return c.tasks.waitTask(t.id, p.waitTimeoutMs ?? 0);
  }
}
