// `smr target start`: lock, key, listener, ready event, wait for a signal, stop cleanly (each
// session finishes the operation in hand and checkpoints).
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { SmrError } from '../shared/errors.js';
import { log, emitEvent, logUnhandledRejections } from '../shared/log.js';
import { acquireLock } from '../shared/lockfile.js';
import { ensurePrivateDir } from '../shared/private-dir.js';
import { readKeyFile } from '../shared/key.js';
import { listen } from './server.js';
import { ReplicaLocks } from './replica-lock.js';
import type { TargetContext } from './session.js';
import { checkTasksDir } from '../tasks/index.js';
import { ModePolicy } from './mode-policy.js';
import type { DaemonLifecycle } from '../shared/stop-latch.js';
import { recoverGroups } from './group-recover.js';

/** Options of `smr target start`. */
export interface TargetOptions {
  host: string;
  port: number;
  root: string;
  stateDir: string;
  keyFile: string | null;
  noAuth: boolean;
  /** Plaintext links (--insecure-no-tls): only sources started the same way can connect. */
  insecureNoTls: boolean;
  allowTasks: boolean;
  tasksDir: string | null;
  /** Strip setuid/setgid from every mode a source asks for (--no-suid). */
  noSuid: boolean;
  signal?: AbortSignal;
  /** Told when the daemon listens and when it begins to stop (systemd's Type=notify). */
  lifecycle?: DaemonLifecycle;
}

/** Runs the target daemon until SIGINT/SIGTERM. */
export async function runTargetDaemon(
  o: TargetOptions,
  waitForStop: (s?: AbortSignal) => Promise<void>,
): Promise<void> {
  const stateDir = path.resolve(o.stateDir);
  await ensurePrivateDir(stateDir);
  const defaultKey = path.join(stateDir, 'smr.key');
  const keyFile =
    o.keyFile ??
    ((await fsp.access(defaultKey).then(
      () => true,
      () => false,
    ))
      ? defaultKey
      : null);
  if (!keyFile && !o.noAuth) {
    throw new SmrError(
      'config',
      'the target has no key',
      'pass --key-file (from `smr key generate`), or --no-auth to accept any source',
    );
  }
  const key = keyFile ? await readKeyFile(keyFile) : null;
  await fsp.mkdir(o.root, { recursive: true });
  const root = await fsp.realpath(o.root);
  const tasksDir = await tasksDirOf(o, root);
  const release = await acquireLock(path.join(stateDir, 'target.lock'), 'target');
  logUnhandledRejections();
  try {
    const ctx: TargetContext = {
      root,
      key,
      tls: !o.insecureNoTls,
      stateDir,
      locks: new ReplicaLocks(),
      tasks: { stateDir, allowTasks: o.allowTasks, tasksDir, replicaRoot: root },
      modes: new ModePolicy(o.noSuid),
    };
    // Crash mode: every replica at a group boundary before any session (group-recover.ts).
    await recoverGroups(stateDir, ctx.modes);
    const server = await listen(o.host, o.port, ctx);
    emitEvent({ event: 'listening', host: server.host, port: server.port });
    log.info(
      `target listening on ${server.host}:${server.port}, root ${root}${key ? '' : ' (no auth)'}`,
    );
    if (o.insecureNoTls)
      log.warn(
        '--insecure-no-tls: links are plaintext, file data crosses the network in the clear',
      );
    o.lifecycle?.ready();
    await waitForStop(o.signal);
    log.info('target stopping');
    o.lifecycle?.stopping();
    await server.close();
  } finally {
    await release();
  }
}

/** The tasks folder a target may run programs from, checked before anything listens. */
async function tasksDirOf(o: TargetOptions, root: string): Promise<string | null> {
  // Without --allow-tasks (or without a folder, which the command line refuses) no task runs.
  if (!o.allowTasks || !o.tasksDir) return o.tasksDir;
  return checkTasksDir(o.tasksDir, [root]);
}
