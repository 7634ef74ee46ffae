// A connection's recorded settings, persisted in the state dir so it survives daemon restarts.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeJsonFile } from '../shared/fsutil.js';
import { readKeyFile } from '../shared/key.js';
import type { CompressName } from '../protocol/compress.js';
import type { WatcherBackend } from './watcher.js';

/** What `connect` records, plus switches the verbs change later. */
export interface ConnectionConfig {
  name: string;
  to: string; // host:port
  path: string; // absolute source directory
  targetPath: string;
  include: string[];
  exclude: string[];
  mirror: 'full' | 'diff' | 'checksum' | 'none';
  replicate: boolean;
  transmit: 'started' | 'paused' | 'stopped';
  keyFile: string | null;
  /** Plaintext link (`connect --insecure-no-tls`); absent in connections recorded before it. */
  insecureNoTls?: boolean;
  /** `connect --compress`; absent: the default. */
  compress?: CompressName;
  /** `connect --no-owner`, `--no-xattrs`, `--no-acls`, `--no-hard-links`; absent: preserved. */
  noOwner?: boolean;
  noXattrs?: boolean;
  noAcls?: boolean;
  noHardLinks?: boolean;
  bandwidth: number | null; // bytes/s, null = unlimited
  /** `connect --watcher`; connections recorded before it existed use the default, native. */
  watcher?: WatcherBackend;
  /** `connect --consistency`; absent: file (connections recorded before crash mode). */
  consistency?: 'file' | 'crash';
  /** `connect --queue-limit` in bytes; absent or null: the default for the free space. */
  queueLimit?: number | null;
  /** Identifies this stream to the target; a new epoch starts the target's applied seq over. */
  epoch: number;
  /** Set when replication was off or the queue was lost: the target copy cannot be trusted. */
  remirrorRequired: boolean;
  createdAt: string;
}

/** Directory holding one connection's files (config, journal, counters). */
export function connectionDir(stateDir: string, name: string): string {
  return path.join(stateDir, 'connections', name);
}

/** Loads every recorded connection; a record with a bad key is refused, naming file and key. */
export async function loadConnections(stateDir: string): Promise<ConnectionConfig[]> {
  const dir = path.join(stateDir, 'connections');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: ConnectionConfig[] = [];
  for (const n of names.sort()) {
    const file = path.join(dir, n, 'connection.json');
    const c = await readJsonFile<unknown>(file, null);
    if (c === null) continue;
    // The schema (zod) is loaded only when there is a record: not at a fresh source's start.
    const { validateConnectionRecord } = await import('../config/record.js');
    out.push(validateConnectionRecord(c, file) as ConnectionConfig);
  }
  return out;
}

/** Persists a connection's settings atomically. */
export async function saveConnection(stateDir: string, c: ConnectionConfig): Promise<void> {
  const dir = connectionDir(stateDir, c.name);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeJsonFile(path.join(dir, 'connection.json'), c);
}

/** Forgets a connection and its queue. */
export async function removeConnection(stateDir: string, name: string): Promise<void> {
  await fsp.rm(connectionDir(stateDir, name), { recursive: true, force: true });
}

/** A new random stream epoch (48 bits: fits the target's counter tag and a JS number). */
export function newEpoch(): number {
  return Math.floor(Math.random() * 2 ** 48) + 1;
}

/** The key of a connection: its own key file, else the daemon's default one if there is one. */
export async function connectionKey(
  cfg: ConnectionConfig,
  defaultKeyFile: string,
): Promise<Buffer | null> {
  if (cfg.keyFile) return readKeyFile(cfg.keyFile);
  const there = await fsp.access(defaultKeyFile).then(
    () => true,
    () => false,
  );
  return there ? readKeyFile(defaultKeyFile) : null;
}
