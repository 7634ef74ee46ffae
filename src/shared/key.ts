// The shared key: 32 random bytes stored as hex in a 0600 file. Only HMAC proofs cross the wire.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { SmrError } from './errors.js';

/** A new random key in its file form (hex). */
export function generateKey(): string {
  return crypto.randomBytes(32).toString('hex');
}

/**
 * Reads a key file; refuses one that group or others may access (as ssh refuses such a private
 * key: whoever can read it can pose as either end) and one that is not a 64-hex-digit key.
 */
export async function readKeyFile(file: string): Promise<Buffer> {
  let text: string;
  try {
    const mode = (await fsp.stat(file)).mode & 0o777;
    if (process.platform !== 'win32' && mode & 0o077) {
      throw new SmrError(
        'permission',
        `key file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')})`,
        `run: chmod 600 ${file}`,
      );
    }
    text = (await fsp.readFile(file, 'utf8')).trim();
  } catch (err) {
    if (err instanceof SmrError) throw err;
    throw new SmrError(
      'config',
      `cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'create one with `smr key generate --out FILE`',
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new SmrError(
      'config',
      `key file ${file} does not hold a key (64 hex digits)`,
      'create one with `smr key generate --out FILE`',
    );
  }
  return Buffer.from(text, 'hex');
}

/** Writes a key file with mode 0600, refusing to overwrite an existing one. */
export async function writeKeyFile(file: string, key: string): Promise<void> {
  try {
    await fsp.writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SmrError(
        'usage',
        `${file} already exists`,
        'remove it first or choose another --out',
      );
    }
    throw err;
  }
}
