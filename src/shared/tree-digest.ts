// A comparable description of a directory tree (type, mode, size, content hash or link target),
// used by the demo and the tests to prove a replica equals its source.
import crypto from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';

/** One entry of a tree digest. */
export interface DigestEntry {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  sha256?: string;
  link?: string;
}

async function hashFile(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Digest of every entry below `root` (links not followed), keyed by relative POSIX path. */
export async function treeDigest(
  root: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Map<string, DigestEntry>> {
  const out = new Map<string, DigestEntry>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(rel ? path.join(root, rel) : root)).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip(r)) continue;
      const abs = path.join(root, r);
      const st = await fsp.lstat(abs);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink())
        out.set(r, { type: 'symlink', mode: 0, size: 0, link: await fsp.readlink(abs) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode, size: 0 });
        await walk(r);
      } else if (st.isFile())
        out.set(r, { type: 'file', mode, size: st.size, sha256: await hashFile(abs) });
    }
  };
  await walk('');
  return out;
}

/** Human-readable differences between two digests (empty when equal). */
export function diffDigests(a: Map<string, DigestEntry>, b: Map<string, DigestEntry>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w) out.push(`missing on target: ${k}`);
    else if (JSON.stringify(v) !== JSON.stringify(w))
      out.push(`differs: ${k} source=${JSON.stringify(v)} target=${JSON.stringify(w)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(`extra on target: ${k}`);
  return out;
}
