// Compares the source tree with the target's listing (and, in checksum mode, the target's block
// hashes): the engine behind verify, orphans and the checksum mirror's decisions.
import path from 'node:path';
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { hashBlocks } from '../delta/index.js';
import type { ListItem } from '../target/listing.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { scanTree } from './scan.js';

export type DiffKind =
  'missing' | 'orphan' | 'type' | 'size' | 'mtime' | 'mode' | 'link' | 'content';

/** One difference between source and target. */
export interface Difference {
  path: string;
  kind: DiffKind;
  source?: string | number;
  target?: string | number;
  /** checksum mode: bytes in blocks whose content differs (plus any size difference). */
  bytesOutOfSync?: number;
}

/** The target's block hashes of one file (a `blocks` request). */
export interface RemoteBlocks {
  exists: boolean;
  size?: number;
  blockSize?: number;
  sha256?: string;
  hashes?: BigUint64Array;
}

/** Decodes the reply to a `blocks` request. */
export function decodeRemoteBlocks(f: {
  header: Record<string, unknown>;
  body: Buffer;
}): RemoteBlocks {
  if (!f.header.exists) return { exists: false };
  const copy = new Uint8Array(f.body); // aligned copy for the 64-bit view
  return {
    exists: true,
    size: Number(f.header.size),
    blockSize: Number(f.header.blockSize),
    sha256: String(f.header.sha256),
    hashes: new BigUint64Array(copy.buffer, 0, copy.byteLength / 8),
  };
}

/** mtimes closer than this are equal (sub-millisecond precision is lost through utimes). */
export const MTIME_TOLERANCE_MS = 1;

/** Entry type letter as in the target's listing. */
export function typeOf(st: Stats): 'f' | 'd' | 'l' {
  return st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f';
}

/** Bytes in differing blocks, given both sides' hashes of equal block size. */
export function bytesOutOfSync(
  local: { size: number; hashes: BigUint64Array },
  remote: { size: number; hashes: BigUint64Array },
  blockSize: number,
): number {
  let bytes = 0;
  const n = Math.max(local.hashes.length, remote.hashes.length);
  for (let i = 0; i < n; i++) {
    if (local.hashes[i] !== remote.hashes[i])
      bytes += Math.max(0, Math.min(blockSize, Math.max(local.size, remote.size) - i * blockSize));
  }
  return bytes;
}

/** Paths of target entries that the source set does not have (excluded paths are protected). */
export function orphansOf(rest: Map<string, ListItem>, filter: PathFilter): ListItem[] {
  const out: ListItem[] = [];
  for (const t of rest.values()) {
    const rel = t[0];
    const excluded = t[1] === 'd' ? !filter.dir(rel) : !filter.file(rel);
    if (excluded || underExcludedDir(filter, rel)) continue;
    out.push(t);
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * The data-loss guard for deleting orphans: never the whole replica because the source set is
 * empty (a vanished or unmounted source path), never more than `maxShare` of the target's entries.
 * Returns why deleting is refused, or null when it may go ahead.
 */
export function orphanBrake(o: {
  orphans: number;
  targetEntries: number;
  sourceEntries: number;
  maxShare: number;
  base: string;
}): string | null {
  if (o.orphans === 0) return null;
  if (o.sourceEntries === 0)
    return `the source path ${o.base} is empty or missing; deleting would empty the replica`;
  if (o.orphans / Math.max(1, o.targetEntries) > o.maxShare) {
    return `deleting ${o.orphans} of ${o.targetEntries} target entries is more than ${Math.round(o.maxShare * 100)}%`;
  }
  return null;
}

/** Compares the whole tree; `target` is consumed (what remains afterwards are target-only paths). */
export async function compareTrees(o: {
  base: string;
  filter: PathFilter;
  target: Map<string, ListItem>;
  mode: 'diff' | 'checksum';
  remoteBlocks: (rel: string) => Promise<RemoteBlocks>;
}): Promise<{ differences: Difference[]; files: number; bytes: number; entries: number }> {
  const differences: Difference[] = [];
  let files = 0;
  let entries = 0;
  let bytes = 0;
  for await (const { rel, st } of scanTree(o.base, o.filter)) {
    entries++;
    const t = o.target.get(rel);
    o.target.delete(rel);
    const type = typeOf(st);
    if (!t) {
      differences.push({ path: rel, kind: 'missing', source: type });
      continue;
    }
    if (t[1] !== type) {
      differences.push({ path: rel, kind: 'type', source: type, target: t[1] });
      continue;
    }
    const mode = st.mode & 0o7777;
    if (type === 'l') {
      const link = await fsp.readlink(path.join(o.base, rel)).catch(() => '');
      if (link !== t[5])
        differences.push({ path: rel, kind: 'link', source: link, target: t[5] ?? '' });
      continue;
    }
    if (mode !== t[4])
      differences.push({
        path: rel,
        kind: 'mode',
        source: mode.toString(8),
        target: t[4].toString(8),
      });
    if (type === 'd') continue;
    files++;
    bytes += st.size;
    if (st.size !== t[2])
      differences.push({ path: rel, kind: 'size', source: st.size, target: t[2] });
    if (Math.abs(st.mtimeMs - t[3]) > MTIME_TOLERANCE_MS) {
      differences.push({
        path: rel,
        kind: 'mtime',
        source: new Date(st.mtimeMs).toISOString(),
        target: new Date(t[3]).toISOString(),
      });
    }
    if (o.mode === 'checksum') {
      const remote = await o.remoteBlocks(rel);
      if (!remote.exists || !remote.hashes || !remote.blockSize) {
        differences.push({ path: rel, kind: 'missing', source: type });
        continue;
      }
      const local = await hashBlocks(path.join(o.base, rel), remote.blockSize);
      if (local.sha256 !== remote.sha256) {
        const out = bytesOutOfSync(
          local,
          { size: remote.size ?? 0, hashes: remote.hashes },
          remote.blockSize,
        );
        differences.push({
          path: rel,
          kind: 'content',
          source: local.sha256,
          target: remote.sha256,
          bytesOutOfSync: out || Math.abs(local.size - (remote.size ?? 0)) || remote.blockSize,
        });
      }
    }
  }
  return { differences, files, bytes, entries };
}
