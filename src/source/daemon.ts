// `smr source start`: reads like a script — lock, identity, connections, control channel, ready,
// wait for a signal, then dispose in reverse order.
import crypto from 'node:crypto';
import path from 'node:path';
import v8 from 'node:v8';
import { promises as fsp } from 'node:fs';
import { log, emitEvent, logUnhandledRejections } from '../shared/log.js';
import { acquireLock } from '../shared/lockfile.js';
import { ensurePrivateDir } from '../shared/private-dir.js';
import { asSmrError } from '../shared/errors.js';
import { capMallocArenas } from '../fsmeta/index.js';
import { startControlServer } from '../control/server.js';
import { dispatcher } from '../control/methods.js';
import { controlPath } from '../control/socket-path.js';
import { loadConnections } from './connection-config.js';
import { Connection } from './connection.js';
import { SourceHandlers } from './handlers.js';
import { initHash } from '../delta/hash.js';
import { ScheduleStore, Scheduler, type SchedulerEvent } from '../schedule/index.js';
import { runVerb } from '../schedule/run-verb.js';
import { installStopLatch, waitForStop, type DaemonLifecycle } from '../shared/stop-latch.js';

// Kept here for the target verb, which has always imported it from the source daemon.
export { waitForStop };

/** malloc arenas of the source process (glibc's default: 8 per core). */
const MALLOC_ARENAS = 2;

async function sourceId(stateDir: string): Promise<string> {
  const file = path.join(stateDir, 'source-id');
  const existing = (await fsp.readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const id = crypto.randomUUID();
  await fsp.writeFile(file, id + '\n', { mode: 0o600 });
  return id;
}

/** Runs the source daemon until SIGINT/SIGTERM. */
export async function runSourceDaemon(opts: {
  stateDir: string;
  tasksDir?: string;
  /** Every link plaintext (benchmarks on trusted networks); the targets must say the same. */
  insecureNoTls?: boolean;
  signal?: AbortSignal;
  /** Told when the daemon serves and when it begins to stop (systemd's Type=notify). */
  lifecycle?: DaemonLifecycle;
}): Promise<void> {
  installStopLatch();
  // Before any worker thread: the threads that come and go (listers, hash worker) share malloc's
  // arenas instead of each leaving one behind resident (src/fsmeta/malloc.ts).
  capMallocArenas(MALLOC_ARENAS);
  // V8 allocates straight in the old generation from an object literal's site once a young
  // collection found all its recent objects alive: a mirror's batches of scanned entries do that
  // at times, and then everything they hold (each entry's Stats, ~1.3 KiB) outlived the young
  // collections too, up to a full one. A no-change diff mirror of 100,000 files then grew the
  // main heap to 130-144 MiB instead of 86-99 (its peak RSS), in about half the runs. Tenuring
  // decides only where objects are allocated, never what a program computes.
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  const stateDir = path.resolve(opts.stateDir);
  await ensurePrivateDir(stateDir);
  const release = await acquireLock(path.join(stateDir, 'source.lock'), 'source');
  logUnhandledRejections();
  await initHash();
  try {
    const ctx = {
      stateDir,
      sourceId: await sourceId(stateDir),
      defaultKeyFile: path.join(stateDir, 'smr.key'),
      insecureNoTls: opts.insecureNoTls === true,
      tasksDir: path.resolve(opts.tasksDir ?? path.join(stateDir, 'tasks')),
    };
    const store = new ScheduleStore(stateDir);
    const scheduler = new Scheduler({ onEvent: logSchedulerEvent });
    const handlers = new SourceHandlers(ctx, { store, scheduler });
    for (const cfg of await loadConnections(stateDir)) {
      const c = new Connection(cfg, ctx);
      handlers.connections.set(cfg.name, c);
      // Changes made while the daemon was down are found by comparing the tree with the index.
      await c.start('restart').catch((err) => log.error(`${cfg.name}: ${asSmrError(err).message}`));
    }
    const closeControl = await startControlServer(
      controlPath(stateDir, 'source'),
      dispatcher(handlers.table()),
    );
    emitEvent({
      event: 'ready',
      pid: process.pid,
      stateDir,
      connections: handlers.connections.size,
    });
    await scheduler.start(store, (job) => runVerb(stateDir, job));
    log.info(`source ready (state dir ${stateDir})`);
    opts.lifecycle?.ready();
    if (opts.insecureNoTls)
      log.warn(
        '--insecure-no-tls: links are plaintext, file data crosses the network in the clear',
      );
    await waitForStop(opts.signal);
    log.info('source stopping');
    opts.lifecycle?.stopping();
    await closeControl();
    await scheduler.stop();
    for (const c of handlers.connections.values())
      await c.stop().catch((err) => log.error(`${c.name}: ${err.message}`));
  } finally {
    await release();
  }
}

function logSchedulerEvent(e: SchedulerEvent): void {
  emitEvent({ ...e });
  if (e.event === 'job-finished') log.info(`scheduled job ${e.job} exited ${e.run.exitCode}`);
  if (e.event === 'job-skipped')
    log.warn(`scheduled job ${e.job} skipped: its previous run is still going`);
  if (e.event === 'scheduler-error') log.error(`scheduler: ${e.message}`);
}
