// `connect`: check everything, reach the target once, then record and start the connection.
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import type { ConnectParams, Preserve } from '../control/methods.js';
import type { ConnectionStatus } from '../control/replies.js';
import { splitSafeRelPath } from '../protocol/paths.js';
import { SmrError } from '../shared/errors.js';
import { readKeyFile } from '../shared/key.js';
import {
  newEpoch,
  removeConnection,
  saveConnection,
  type ConnectionConfig,
} from './connection-config.js';
import { Connection, type SourceContext } from './connection.js';
import { dial, wireOptions } from './dial.js';
import { COMPRESS_NAMES } from '../protocol/compress.js';
import { WATCHER_BACKENDS } from './watcher.js';
import { MIN_QUEUE_LIMIT } from '../journal/journal.js';
import { formatBytes } from '../shared/units.js';
import { probeSnapshots, snapshotPlace, SNAPSHOT_DIR } from './consistency-snapshots.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIRRORS: ReadonlyArray<ConnectionConfig['mirror']> = ['full', 'diff', 'checksum', 'none'];

/** Checks what `connect` was given; returns the connection's configuration. */
async function configure(p: ConnectParams, taken: boolean): Promise<ConnectionConfig> {
  const name = p.name;
  if (!NAME_RE.test(name))
    throw new SmrError(
      'usage',
      `bad connection name "${name}"`,
      'use letters, digits, dot, dash and underscore (up to 64)',
    );
  if (taken)
    throw new SmrError(
      'usage',
      `connection "${name}" already exists`,
      'disconnect it first, or pick another name',
    );
  const srcPath = path.resolve(p.path);
  const st = await fsp.stat(srcPath).catch(() => null);
  if (!st?.isDirectory()) throw new SmrError('usage', `source path ${srcPath} is not a directory`);
  const targetPath = p.targetPath ?? name;
  try {
    splitSafeRelPath(targetPath, 'target path');
  } catch (err) {
    const hint = 'give a relative path without ".." such as web';
    throw new SmrError('path-refused', (err as Error).message, hint);
  }
  if (!MIRRORS.includes(p.mirror))
    throw new SmrError('usage', `bad --mirror "${p.mirror}"`, 'use full, diff, checksum or none');
  if (
    p.queueLimit !== undefined &&
    !(Number.isSafeInteger(p.queueLimit) && p.queueLimit >= MIN_QUEUE_LIMIT)
  )
    throw new SmrError(
      'usage',
      `--queue-limit ${formatBytes(p.queueLimit ?? 0)} is too small`,
      `give at least ${formatBytes(MIN_QUEUE_LIMIT)}: a mirror alone keeps up to 16 MiB queued`,
    );
  if (p.compress !== undefined && !COMPRESS_NAMES.includes(p.compress))
    throw new SmrError('usage', `bad --compress "${String(p.compress)}"`, 'use zstd, lz4 or none');
  const watcher = p.watcher ?? 'native';
  if (!WATCHER_BACKENDS.includes(watcher))
    throw new SmrError('usage', `bad --watcher "${String(watcher)}"`, 'use native or chokidar');
  const consistency = p.consistency ?? 'file';
  if (consistency !== 'file' && consistency !== 'crash')
    throw new SmrError('usage', `bad --consistency "${String(consistency)}"`, 'use file or crash');
  const crashExclude = consistency === 'crash' ? await crashModeExcludes(srcPath, name) : [];
  return {
    name,
    to: p.to,
    path: srcPath,
    targetPath,
    include: p.include,
    exclude: [...p.exclude, ...crashExclude],
    mirror: p.mirror,
    replicate: p.replicate !== false,
    transmit: 'started',
    keyFile: p.keyFile ? path.resolve(p.keyFile) : null,
    ...(p.insecureNoTls === true ? { insecureNoTls: true } : {}),
    ...(p.compress ? { compress: p.compress } : {}),
    ...notPreserved(p.preserve),
    bandwidth: null,
    watcher,
    ...(consistency === 'crash' ? { consistency } : {}),
    ...(p.queueLimit ? { queueLimit: p.queueLimit } : {}),
    epoch: newEpoch(),
    remirrorRequired: p.replicate === false,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Crash mode needs the path on btrfs and a snapshot the daemon can take (made and deleted once
 * here); the snapshots' directory is excluded when it lies inside the path.
 */
async function crashModeExcludes(srcPath: string, name: string): Promise<string[]> {
  const place = await snapshotPlace(srcPath, name);
  await probeSnapshots(place, srcPath);
  return place.below === '' ? [`/${SNAPSHOT_DIR}/`] : [];
}

/** Adds and starts a connection; unreachable (3), key refused (7), path refused (2) record nothing. */
export async function connect(
  ctx: SourceContext,
  connections: Map<string, Connection>,
  p: ConnectParams,
): Promise<ConnectionStatus> {
  const cfg = await configure(p, connections.has(p.name));
  const key = cfg.keyFile
    ? await readKeyFile(cfg.keyFile)
    : await readKeyFile(ctx.defaultKeyFile).catch((err: SmrError) => {
        if (err.code === 'permission') throw err; // there, but others can read it
        return null;
      });
  const probe = await dial(
    cfg.to,
    key,
    {
      connection: cfg.name,
      targetPath: cfg.targetPath,
      epoch: cfg.epoch,
      sourceId: ctx.sourceId,
      probe: true,
    },
    wireOptions(cfg, ctx),
  );
  probe.peer.close();
  await saveConnection(ctx.stateDir, cfg);
  const c = new Connection(cfg, ctx);
  connections.set(cfg.name, c);
  try {
    await c.start({ mirror: cfg.mirror === 'none' ? null : { mode: cfg.mirror } });
  } catch (err) {
    connections.delete(cfg.name);
    await c.stop().catch(() => undefined);
    await removeConnection(ctx.stateDir, cfg.name);
    throw err;
  }
  return c.status();
}

/** The `--no-*` attribute flags as the record keeps them: only those turned off. */
function notPreserved(p: Preserve | undefined): Partial<ConnectionConfig> {
  if (!p) return {};
  return {
    ...(p.owner ? {} : { noOwner: true }),
    ...(p.xattrs ? {} : { noXattrs: true }),
    ...(p.acls ? {} : { noAcls: true }),
    ...(p.hardLinks ? {} : { noHardLinks: true }),
  };
}
