// Compares the source tree with the target's listing (and, in checksum mode, the target's block
// hashes): the engine behind verify, orphans and the checksum mirror's decisions.
import type { Stats } from 'node:fs';
import path from 'node:path';
import { hashBlocks } from '../delta/index.js';
import { isSpecialType, typeLetter, type ListEntry } from '../protocol/listing.js';
import type { BlocksReply } from '../protocol/requests.js';
import { knownType } from './entry-type.js';
import { underExcludedDir, type PathFilter } from './filter.js';
import { scanTree, type ScanSkip } from './scan.js';
import type { Skipped, SkippedStatus } from './skipped.js';
import type { Difference, DiffKind } from '../control/replies.js';
import { attrDifferences } from './attr-diff.js';
import type { EntryAttrs } from './entry-attrs.js';
import { readlinkName } from '../shared/fsutil.js';
import { LinkGrouping } from './link-groups.js';
import { rdevDiffers, rdevText } from './rdev.js';
import type { ListedEntries } from './replica-listing.js';

/** What verify reports (the control channel's shapes). */
export type { Difference, DiffKind };

/** One comparison's outcome: differences, what was compared, what was not and why. */
export interface Compared {
  differences: Difference[];
  files: number;
  bytes: number;
  entries: number;
  /** Of the entries, fifos, sockets and devices. */
  specials: number;
  skipped: SkippedStatus;
}

/** mtimes closer than this are equal (sub-millisecond precision is lost through utimes). */
export const MTIME_TOLERANCE_MS = 1;

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
export function orphansOf(rest: Map<string, ListEntry>, filter: PathFilter): ListEntry[] {
  const out: ListEntry[] = [];
  for (const t of rest.values()) {
    const excluded = t.type === 'dir' ? !filter.dir(t.path) : !filter.file(t.path);
    if (excluded || underExcludedDir(filter, t.path)) continue;
    out.push(t);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Compares the whole tree; `target` is consumed (what remains afterwards are target-only paths). */
export async function compareTrees(o: {
  base: string;
  filter: PathFilter;
  target: ListedEntries & { values(): Iterable<ListEntry> };
  mode: 'diff' | 'checksum';
  remoteBlocks: (rel: string) => Promise<BlocksReply>;
  /** Owner, ns mtime, xattrs and ACLs, against the listing's stamps (entry-attrs.ts). */
  attrs?: EntryAttrs;
  /** Called once per source entry compared, with its size when it is a file (progress). */
  onEntry?: (bytes: number) => void;
  /** Which names could not be carried: such a path missing on the target is a `name` difference. */
  skipped?: Pick<Skipped, 'nameRefused'>;
  /** Compare hard-link grouping (not with `connect --no-hard-links`). */
  hardLinks?: boolean;
}): Promise<Compared> {
  const differences: Difference[] = [];
  const links = o.hardLinks ? new LinkGrouping(o.target.values()) : null;
  let files = 0;
  let entries = 0;
  let bytes = 0;
  let specials = 0;
  const skipped: SkippedStatus = { count: 0, reasons: {} };
  const onSkip = (s: ScanSkip): void => {
    skipped.count++;
    skipped.reasons[s.reason] = (skipped.reasons[s.reason] ?? 0) + 1;
  };
  for await (const { rel, st } of scanTree(o.base, o.filter, '', onSkip, true)) {
    entries++;
    o.onEntry?.(st.isFile() ? st.size : 0);
    const t = o.target.get(rel);
    o.target.delete(rel);
    const type = knownType(st) ?? 'file'; // the scan yields no other type
    if (!t) {
      const kind = o.skipped?.nameRefused(rel) ? 'name' : 'missing';
      differences.push({ path: rel, kind, source: typeLetter(type) });
      continue;
    }
    if (t.type !== type) {
      const [source, target] = [typeLetter(type), typeLetter(t.type)];
      differences.push({ path: rel, kind: 'type', source, target });
      continue;
    }
    const mode = st.mode & 0o7777;
    const byStamp = o.attrs ? attrDifferences(o.attrs, rel, t) : null;
    if (byStamp) differences.push(...byStamp);
    if (type === 'symlink') {
      const link = await readlinkName(path.join(o.base, rel)).catch(() => '');
      if (link !== t.link)
        differences.push({ path: rel, kind: 'link', source: link, target: t.link ?? '' });
      continue;
    }
    if (mode !== t.mode)
      differences.push({
        path: rel,
        kind: 'mode',
        source: mode.toString(8),
        target: t.mode.toString(8),
      });
    if (type === 'dir') continue;
    if (isSpecialType(type)) {
      specials++;
      differences.push(...specialDifferences(rel, st, t, byStamp !== null));
      continue;
    }
    if (links?.differs(st, t)) differences.push({ path: rel, kind: 'hardlinks' });
    files++;
    bytes += st.size;
    if (st.size !== t.size)
      differences.push({ path: rel, kind: 'size', source: st.size, target: t.size });
    if (!byStamp && Math.abs(st.mtimeMs - t.mtimeMs) > MTIME_TOLERANCE_MS) {
      differences.push({
        path: rel,
        kind: 'mtime',
        source: new Date(st.mtimeMs).toISOString(),
        target: new Date(t.mtimeMs).toISOString(),
        fileMtime: true,
      });
    }
    if (o.mode === 'checksum') {
      const remote = await o.remoteBlocks(rel);
      if (!remote.exists) {
        differences.push({ path: rel, kind: 'missing', source: typeLetter(type) });
        continue;
      }
      const local = await hashBlocks(path.join(o.base, rel), remote.blockSize);
      if (local.sha256 !== remote.sha256) {
        const out = bytesOutOfSync(local, remote, remote.blockSize);
        differences.push({
          path: rel,
          kind: 'content',
          source: local.sha256,
          target: remote.sha256,
          bytesOutOfSync: out || Math.abs(local.size - remote.size) || remote.blockSize,
        });
      }
    }
  }
  return { differences, files, bytes, entries, specials, skipped };
}

/** A fifo's, socket's or device's differences beyond type, mode and stamp: device number, mtime. */
function specialDifferences(rel: string, st: Stats, t: ListEntry, stamped: boolean): Difference[] {
  const out: Difference[] = [];
  if (rdevDiffers(st, t)) {
    const target = t.rdev?.join(':') ?? 'none';
    out.push({ path: rel, kind: 'rdev', source: rdevText(st), target });
  }
  if (!stamped && Math.abs(st.mtimeMs - t.mtimeMs) > MTIME_TOLERANCE_MS)
    out.push({
      path: rel,
      kind: 'mtime',
      source: new Date(st.mtimeMs).toISOString(),
      target: new Date(t.mtimeMs).toISOString(),
    });
  return out;
}
