// The source daemon's control requests: each validates its parameters, acts on one connection,
// returns data. Verbs in src/cli render the results.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { readKeyFile } from '../shared/key.js';
import { splitSafeRelPath } from '../protocol/paths.js';
import { dial } from './dial.js';
import { orphans, verify } from './audit.js';
import {
  newEpoch,
  removeConnection,
  saveConnection,
  type ConnectionConfig,
} from './connection-config.js';
import { Connection, type SourceContext } from './connection.js';
import type { TransmitState } from './link.js';
import { WATCHER_BACKENDS } from './watcher.js';
import type { MirrorMode } from './mirror.js';
import type { ScheduleStore, Scheduler } from '../schedule/index.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_WAIT_MS = 24 * 3600 * 1000;

/** The daemon's connections by name, and the request dispatcher over them. */
export class SourceHandlers {
  readonly connections = new Map<string, Connection>();

  constructor(
    private readonly ctx: SourceContext,
    private readonly schedule: { store: ScheduleStore; scheduler: Scheduler },
  ) {}

  private get(name: unknown): Connection {
    const c = this.connections.get(String(name));
    if (!c) {
      throw new SmrError(
        'unknown-connection',
        `no connection named "${String(name)}"`,
        'see `smr status` for the connections this source has',
      );
    }
    return c;
  }

  /** Routes one control request. */
  async handle(method: string, p: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'ping':
        return { ok: true, pid: process.pid };
      case 'status':
        if (p.name !== undefined) return this.get(p.name).status();
        return { connections: [...this.connections.values()].map((c) => c.status()) };
      case 'connect':
        return this.connect(p);
      case 'disconnect': {
        const c = this.get(p.name);
        await c.stop();
        this.connections.delete(c.name);
        await removeConnection(this.ctx.stateDir, c.name);
        return { name: c.name, disconnected: true };
      }
      case 'replicate': {
        const c = this.get(p.name);
        await c.setReplicate(Boolean(p.on));
        return c.status();
      }
      case 'transmit': {
        const c = this.get(p.name);
        const t = { start: 'started', stop: 'stopped', pause: 'paused', resume: 'started' }[
          String(p.action)
        ] as TransmitState | undefined;
        if (!t)
          throw new SmrError(
            'usage',
            `unknown transmit action "${String(p.action)}"`,
            'use start, stop, pause or resume',
          );
        await c.setTransmit(t);
        return c.status();
      }
      case 'limit': {
        const c = this.get(p.name);
        await c.setBandwidth(p.bandwidth === null ? null : Number(p.bandwidth));
        return c.status();
      }
      case 'wait': {
        const c = this.get(p.name);
        const what = p.for === 'mirrored' ? 'mirrored' : 'synced';
        await c.waitFor(
          what,
          typeof p.timeoutMs === 'number' && p.timeoutMs > 0 ? p.timeoutMs : DEFAULT_WAIT_MS,
        );
        return c.status();
      }
      case 'mirror': {
        const c = this.get(p.name);
        const m = c.mirrorControl;
        switch (p.action) {
          case 'start':
            c.startMirror({
              mode: (p.mode as MirrorMode) ?? 'diff',
              newerOnly: Boolean(p.newerOnly),
              deleteOrphans: Boolean(p.deleteOrphans),
            });
            break;
          case 'stop':
            m.stop();
            break;
          case 'pause':
            m.pause();
            break;
          case 'resume':
            m.resume();
            break;
          default:
            throw new SmrError('usage', `unknown mirror action "${String(p.action)}"`);
        }
        return c.status();
      }
      case 'queue-task': {
        const c = this.get(p.name);
        const on = String(p.on ?? 'execute') as 'execute' | 'receive' | 'queue' | 'transmit';
        if (!['execute', 'receive', 'queue', 'transmit'].includes(on))
          throw new SmrError(
            'usage',
            `bad --on "${on}"`,
            'use execute, receive, queue or transmit',
          );
        const t = await c.queueTask({
          on,
          command: String(p.command ?? ''),
          args: ((p.args as unknown[]) ?? []).map(String),
          timeoutMs: Number(p.timeoutMs ?? 600_000),
        });
        if (!p.wait) return t;
        return c.waitTask(t.id, Number(p.waitTimeoutMs ?? 0));
      }
      case 'verify': {
        const mode = p.mode === 'checksum' ? 'checksum' : 'diff';
        return verify(this.get(p.name).audit(), mode, Boolean(p.fix));
      }
      case 'orphans': {
        const share = p.maxDeletePercent === undefined ? 0.5 : Number(p.maxDeletePercent) / 100;
        return orphans(this.get(p.name).audit(), {
          delete: Boolean(p.delete),
          force: Boolean(p.force),
          maxShare: share,
        });
      }
      case 'tasks': {
        if (p.name !== undefined)
          return {
            tasks: this.get(p.name)
              .listTasks()
              .map((t) => ({ connection: p.name, ...t })),
          };
        return {
          tasks: [...this.connections.values()].flatMap((c) =>
            c.listTasks().map((t) => ({ connection: c.name, ...t })),
          ),
        };
      }
      case 'task-wait': {
        return this.get(p.name).waitTask(String(p.id), Number(p.timeoutMs ?? 0));
      }
      case 'schedule-add': {
        const argv = ((p.argv as unknown[]) ?? []).map(String);
        const job = await this.schedule.store.add({
          name: String(p.job),
          cron: String(p.cron),
          argv,
        });
        await this.schedule.scheduler.reload();
        return job;
      }
      case 'schedule-list':
        return { jobs: await this.schedule.store.list() };
      case 'schedule-remove': {
        const job = await this.schedule.store.remove(String(p.job));
        await this.schedule.scheduler.reload();
        return job;
      }
      case 'schedule-run':
        await this.schedule.store.get(String(p.job)); // an unknown job is exit 2
        return this.schedule.scheduler.runNow(String(p.job));
      default:
        throw new SmrError('usage', `unknown control request "${method}"`);
    }
  }

  /** `connect`: check everything, reach the target once, then record and start the connection. */
  private async connect(p: Record<string, unknown>): Promise<unknown> {
    const name = String(p.name ?? '');
    if (!NAME_RE.test(name)) {
      throw new SmrError(
        'usage',
        `bad connection name "${name}"`,
        'use letters, digits, dot, dash and underscore (up to 64)',
      );
    }
    if (this.connections.has(name))
      throw new SmrError(
        'usage',
        `connection "${name}" already exists`,
        'disconnect it first, or pick another name',
      );
    const srcPath = path.resolve(String(p.path ?? ''));
    const st = await fsp.stat(srcPath).catch(() => null);
    if (!st?.isDirectory())
      throw new SmrError('usage', `source path ${srcPath} is not a directory`);
    const targetPath = String(p.targetPath ?? name);
    try {
      splitSafeRelPath(targetPath, 'target path');
    } catch (err) {
      throw new SmrError(
        'path-refused',
        (err as Error).message,
        'give a relative path without ".." such as web',
      );
    }
    const mirror = (p.mirror as ConnectionConfig['mirror']) ?? 'diff';
    if (!['full', 'diff', 'checksum', 'none'].includes(mirror))
      throw new SmrError('usage', `bad --mirror "${mirror}"`, 'use full, diff, checksum or none');
    const watcher = (p.watcher as ConnectionConfig['watcher']) ?? 'native';
    if (!(WATCHER_BACKENDS as readonly string[]).includes(watcher))
      throw new SmrError('usage', `bad --watcher "${watcher}"`, 'use native or chokidar');
    const keyFile = p.keyFile ? path.resolve(String(p.keyFile)) : null;
    const key = keyFile
      ? await readKeyFile(keyFile)
      : await readKeyFile(this.ctx.defaultKeyFile).catch(() => null);
    const cfg: ConnectionConfig = {
      name,
      to: String(p.to ?? ''),
      path: srcPath,
      targetPath,
      include: (p.include as string[]) ?? [],
      exclude: (p.exclude as string[]) ?? [],
      mirror,
      replicate: p.replicate !== false,
      transmit: 'started',
      keyFile,
      bandwidth: null,
      watcher,
      epoch: newEpoch(),
      remirrorRequired: p.replicate === false,
      createdAt: new Date().toISOString(),
    };
    // Reach the target once: unreachable (3), key refused (7), path refused (2) record nothing.
    const probe = await dial(cfg.to, key, {
      connection: name,
      targetPath,
      epoch: cfg.epoch,
      sourceId: this.ctx.sourceId,
      probe: true,
    });
    probe.peer.close();
    await saveConnection(this.ctx.stateDir, cfg);
    const c = new Connection(cfg, this.ctx);
    this.connections.set(name, c);
    try {
      await c.start(mirror === 'none' ? null : { mode: mirror });
    } catch (err) {
      this.connections.delete(name);
      await c.stop().catch(() => undefined);
      await removeConnection(this.ctx.stateDir, name);
      throw err;
    }
    return c.status();
  }
}
