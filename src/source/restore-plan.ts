// What a restore does with each replica entry, given the destination's own state: a mirror in the
// other direction, decided by the mirror's functions (mirror-plan.ts) with the replica as the side
// that sends. Also what it must not do unasked: overwrite a destination file newer than the
// replica's copy (an operator restoring from rsync or Double-Take expects to be told, not to lose it).
import { type Stats } from 'node:fs';
import path from 'node:path';
import type { MirrorMode } from '../control/replies.js';
import { attrStampOf, makeDev, readMetaSync, splitDev } from '../fsmeta/index.js';
import { isSpecialType, type ListEntry } from '../protocol/listing.js';
import { sumsReply, type FileSum } from '../protocol/requests.js';
import { lstatOrNull, readlinkName } from '../shared/fsutil.js';
import { MTIME_TOLERANCE_MS } from './compare.js';
import type { EntryAttrs } from './entry-attrs.js';
import { knownType } from './entry-type.js';
import { makeFilter, type PathFilter } from './filter.js';
import type { ItemFacts } from './itemize.js';
import { decide, type SentEntry } from './mirror-plan.js';
import { SUMS_BATCH, splitBySums, type Candidate } from './mirror-sums.js';
import type { Ask } from './restore-fetch.js';
import { scanTree } from './scan.js';

/** What `smr restore` asks. */
export interface RestoreOptions {
  mode: MirrorMode;
  /** Where it writes (absolute): the connection's path, or `--to DIR`. */
  dest: string;
  /** `--only GLOB`: just these paths of the replica (and the directories on their way). */
  only: string[];
  /** Overwrite destination files newer than the replica's. */
  force: boolean;
  /** A snapshot of the replica to read instead (`--from-snapshot`). */
  from?: string;
}

/** One entry the restore writes. */
export interface RestoreStep {
  rel: string;
  t: ListEntry;
  action: 'create' | 'update';
  attrs: string[];
  /** Data that may come over the link (the file's size: a delta brings less). */
  bytes: number;
  /** Something of another type is in the way: it is removed first. */
  replace: boolean;
  /** Only attributes differ (owner, xattrs, ACLs...): they are set in place, no data moves. */
  metaOnly?: boolean;
}

/** Which attributes of the replica's stamps count (the connection's --no-owner/-xattrs/-acls). */
export type AttrCompare = Pick<EntryAttrs, 'differing'>;

/** The whole plan: the steps, destination files newer than the replica, and what is kept. */
export interface RestorePlan {
  steps: RestoreStep[];
  newer: string[];
  /** Destination entries the replica does not have: left alone (as rsync without --delete). */
  kept: ItemFacts[];
}

/** The replica entry as the mirror's decisions read a sent entry. */
function sent(t: ListEntry): SentEntry {
  return {
    size: t.size,
    mtimeMs: t.mtimeMs,
    mode: t.mode,
    isFile: () => t.type === 'file',
    isDirectory: () => t.type === 'dir',
    isSymbolicLink: () => t.type === 'symlink',
    isFIFO: () => t.type === 'fifo',
    isSocket: () => t.type === 'socket',
    isCharacterDevice: () => t.type === 'char',
    isBlockDevice: () => t.type === 'block',
    rdev: t.rdev ? Number(makeDev({ major: t.rdev[0], minor: t.rdev[1] })) : 0,
  };
}

/** The destination entry as the mirror's decisions read the receiving side's listing. */
function local(rel: string, st: Stats): ListEntry {
  const type = knownType(st) ?? 'file';
  const l: ListEntry = {
    path: rel,
    type,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
  };
  if (type !== 'char' && type !== 'block') return l;
  const d = splitDev(BigInt(st.rdev));
  return { ...l, rdev: [d.major, d.minor] };
}

function attrsOf(t: ListEntry, l: ListEntry): string[] {
  const out: string[] = [];
  const timed = t.type === 'file' || isSpecialType(t.type);
  if (t.type === 'file' && t.size !== l.size) out.push('size');
  if (timed && Math.abs(t.mtimeMs - l.mtimeMs) > MTIME_TOLERANCE_MS) out.push('mtime');
  if (t.type !== 'symlink' && t.mode !== l.mode) out.push('mode');
  if (t.rdev?.join(':') !== l.rdev?.join(':')) out.push('device');
  return out;
}

/** The replica entries `only` selects: matching ones, and every directory on their way. */
function selected(list: Map<string, ListEntry>, only: string[], filter: PathFilter): ListEntry[] {
  const all = [...list.values()].filter((t) =>
    t.type === 'dir' ? filter.dir(t.path) : filter.file(t.path),
  );
  if (only.length === 0) return all;
  const pick = makeFilter(only, []);
  const chosen = all.filter((t) => pick.file(t.path));
  const dirs = new Set<string>();
  for (const t of chosen)
    for (let i = t.path.indexOf('/'); i !== -1; i = t.path.indexOf('/', i + 1))
      dirs.add(t.path.slice(0, i));
  return all.filter((t) => pick.file(t.path) || (t.type === 'dir' && dirs.has(t.path)));
}

/**
 * Owner, xattrs and ACLs (and a directory's or symlink's mtime) of the destination entry that
 * differ from the replica's listed stamp, as rsync -aAX would set them; [] when the listing
 * carries no stamp (an older target). A file's and a special's mtime is decide()'s.
 */
function stampDiffers(abs: string, t: ListEntry, attrs: AttrCompare): string[] {
  if (t.attrs === undefined) return [];
  const local = attrStampOf(readMetaSync(abs, { xattrs: true, acls: true }));
  const timed = t.type === 'dir' || t.type === 'symlink';
  return attrs.differing(local, t.attrs).filter((a) => timed || a !== 'mtime');
}

/** The step for one replica entry, or null when the destination already has it. */
async function stepFor(
  dest: string,
  t: ListEntry,
  mode: MirrorMode,
  attrs: AttrCompare,
): Promise<RestoreStep | null> {
  const abs = path.join(dest, ...t.path.split('/'));
  const st = lstatOrNull(abs);
  const bytes = t.type === 'file' ? t.size : 0;
  const base = { rel: t.path, t, bytes, replace: false };
  if (!st) return { ...base, action: 'create', attrs: [] };
  const l = local(t.path, st);
  if (knownType(st) !== t.type)
    return { ...base, action: 'create', attrs: ['type'], replace: true };
  const meta = stampDiffers(abs, t, attrs);
  const metaOnly = meta.length
    ? { ...base, action: 'update' as const, attrs: meta, bytes: 0, metaOnly: true }
    : null;
  if (t.type === 'symlink') {
    const link = await readlinkName(abs).catch(() => '');
    return link === t.link ? metaOnly : { ...base, action: 'update', attrs: ['link target'] };
  }
  if (t.type === 'dir')
    return t.mode === l.mode ? metaOnly : { ...base, action: 'update', attrs: ['mode', ...meta] };
  const d = decide(sent(t), l, { mode });
  return d === 'same'
    ? metaOnly
    : { ...base, action: 'update', attrs: [...attrsOf(t, l), ...meta] };
}

/** Checksum mode: files equal in size and sha256 on both sides are dropped (only attrs differ). */
async function byContent(
  dest: string,
  steps: RestoreStep[],
  sums: (paths: string[]) => Promise<Array<FileSum | null>>,
): Promise<RestoreStep[]> {
  const out: RestoreStep[] = [];
  const batch: Array<Candidate & { s: RestoreStep }> = [];
  const flush = async (): Promise<void> => {
    const { equal, differ } = await splitBySums(dest, batch.splice(0), sums);
    for (const c of differ) {
      const s = (c as (typeof batch)[0]).s;
      out.push({ ...s, attrs: ['content', ...s.attrs], metaOnly: false });
    }
    for (const [c] of equal) {
      const s = (c as (typeof batch)[0]).s;
      // The same data: whatever else differs is set in place.
      if (s.attrs.length) out.push({ ...s, bytes: 0, metaOnly: true });
    }
  };
  for (const s of steps) {
    const st =
      s.t.type === 'file' && s.action === 'update'
        ? lstatOrNull(path.join(dest, ...s.rel.split('/')))
        : null;
    if (!st || st.size !== s.t.size) {
      out.push(s);
      continue;
    }
    batch.push({ rel: s.rel, st, t: s.t, s });
    if (batch.length >= SUMS_BATCH) await flush();
  }
  if (batch.length) await flush();
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** What restoring the replica `list` into `o.dest` would do. */
export async function planRestore(
  ask: Ask,
  list: Map<string, ListEntry>,
  filter: PathFilter,
  o: RestoreOptions,
  attrs: AttrCompare,
): Promise<RestorePlan> {
  const wanted = selected(list, o.only, filter).sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  let steps: RestoreStep[] = [];
  const newer: string[] = [];
  for (const t of wanted) {
    const s = await stepFor(o.dest, t, o.mode, attrs);
    if (!s) continue;
    steps.push(s);
    const st = lstatOrNull(path.join(o.dest, ...t.path.split('/')));
    if (st && !st.isDirectory() && st.mtimeMs - t.mtimeMs > MTIME_TOLERANCE_MS) newer.push(t.path);
  }
  if (o.mode === 'checksum') {
    const sums = async (paths: string[]) =>
      sumsReply(
        await ask({ op: 'sums', paths, ...(o.from ? { from: o.from } : {}) }),
        paths.length,
      );
    steps = await byContent(o.dest, steps, sums);
  }
  const kept: ItemFacts[] = [];
  if (o.only.length === 0 && lstatOrNull(o.dest)?.isDirectory())
    for await (const { rel, st } of scanTree(o.dest, filter, '', undefined, true))
      if (!list.has(rel)) {
        const reason = 'only on the source: kept';
        kept.push({ path: rel, type: knownType(st) ?? 'file', action: 'skip', reason });
      }
  const stepped = new Set(steps.map((s) => s.rel));
  return { steps, newer: newer.filter((p) => stepped.has(p)), kept };
}
