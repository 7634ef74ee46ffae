// Helpers for tests that run the shipped shell templates against stub programs in temp dirs.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../templates',
);

/** A fresh temp directory (the caller removes `base` when done). */
export async function scratch(base: string, name: string): Promise<string> {
  return fsp.mkdtemp(path.join(base, `${name}-`));
}

/** A base directory for one test file's scratch dirs. */
export function scratchBase(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes an executable bash stub. */
export async function stub(file: string, body: string): Promise<string> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Runs a script to completion (60 s at most). */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(script, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return r;
}

/** The lines of a log file, or none when it does not exist. */
export async function logLines(log: string): Promise<string[]> {
  return existsSync(log) ? (await fsp.readFile(log, 'utf8')).trimEnd().split('\n') : [];
}
