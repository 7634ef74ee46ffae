// The key a connection's link proves itself with.
import { promises as fsp } from 'node:fs';
import { readKeyFile } from '../shared/key.js';

/** The connection's own key file, else the daemon's default one if it exists, else none. */
export async function connectionKey(
  keyFile: string | null | undefined,
  defaultKeyFile: string,
): Promise<Buffer | null> {
  if (keyFile) return readKeyFile(keyFile);
  try {
    await fsp.access(defaultKeyFile);
  } catch {
    return null;
  }
  return readKeyFile(defaultKeyFile);
}
