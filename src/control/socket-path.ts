// Where a state dir's daemon listens for control verbs: a unix socket inside it (a named pipe on Windows).
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

// sun_path is 108 bytes on Linux (104 on macOS); keep a margin.
const MAX_SOCKET_PATH = 100;

/** Control endpoint of the `kind` daemon ('source' or 'target') that owns `stateDir`. */
export function controlPath(stateDir: string, kind: 'source' | 'target'): string {
  const abs = path.resolve(stateDir);
  if (process.platform === 'win32') {
    const h = crypto.createHash('sha256').update(abs.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\smr-${kind}-${h}`;
  }
  const p = path.join(abs, `${kind}.sock`);
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
  const h = crypto.createHash('sha256').update(abs).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `smr-${kind}-${h}.sock`);
}
