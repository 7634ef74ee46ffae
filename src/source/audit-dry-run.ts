// `orphans --delete --dry-run` and `verify --fix --dry-run`: the comparisons verify and orphans
// make, and what their real runs would then do with each path, with nothing queued.
import path from 'node:path';
import type { Difference, DryRunResult, MirrorMode } from '../control/replies.js';
import { letterType, type ListEntry } from '../protocol/listing.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { compareOnce, listing, refuseDuringMirror, type AuditContext } from './audit.js';
import { deletionBrake } from './brake.js';
import { compareTrees } from './compare.js';
import { knownType } from './entry-type.js';
import { dryRunResult, itemize, type ItemFacts } from './itemize.js';

const DRAIN_MS = 10 * 60_000;
// verify's difference kinds, as the attributes a dry run names.
const ATTR_OF: Partial<Record<Difference['kind'], string>> = {
  size: 'size',
  mtime: 'mtime',
  mode: 'mode',
  link: 'link target',
  content: 'content',
  rdev: 'device',
};

/** What `orphans --delete` (with `force` and its brake) would delete now; changes nothing. */
export async function orphansDryRun(
  ctx: AuditContext,
  o: { delete: boolean; force: boolean; maxShare: number },
): Promise<DryRunResult> {
  refuseDuringMirror(ctx, 'orphans');
  await ctx.drained(DRAIN_MS);
  const target = await listing(ctx);
  let found: ListEntry[];
  let targetEntries: number;
  let entries: number;
  try {
    targetEntries = target.size;
    ({ entries } = await compareTrees({
      base: ctx.base,
      filter: ctx.filter,
      target,
      mode: 'diff',
      remoteBlocks: () => Promise.reject(new Error('not asked in diff mode')),
    }));
    found = target.sortedOrphans(ctx.filter);
  } finally {
    target.close();
  }
  const brake = o.delete
    ? deletionBrake({
        deletes: found.length,
        targetEntries,
        sourceEntries: entries,
        maxShare: o.maxShare,
        base: ctx.base,
        force: o.force,
      })
    : null;
  const reason = !o.delete ? 'only on the target: kept (--delete deletes it)' : brake;
  const items = found.map((t) =>
    itemize(
      reason
        ? { path: t.path, type: t.type, action: 'skip', reason }
        : { path: t.path, type: t.type, action: 'delete' },
      '<',
    ),
  );
  const r = dryRunResult({ name: ctx.name, operation: 'orphans' }, items);
  return brake ? { ...r, refused: `refusing to delete orphans of ${ctx.name}: ${brake}` } : r;
}

/** One path's item for `verify --fix`: the path is sent again whole (orphans are left alone). */
function fixItem(ctx: AuditContext, rel: string, diffs: Difference[]): ItemFacts {
  const st = lstatOrNull(path.join(ctx.base, ...rel.split('/')));
  const first = diffs[0] as Difference;
  const type = (st && knownType(st)) ?? letterType(String(first.source)) ?? 'file';
  if (first.kind === 'orphan') {
    const reason = 'only on the target: left to smr orphans --delete';
    return { path: rel, type: letterType(String(first.target)) ?? type, action: 'skip', reason };
  }
  const bytes = type === 'file' ? (st?.size ?? 0) : 0;
  if (diffs.some((d) => d.kind === 'missing')) return { path: rel, type, action: 'create', bytes };
  if (diffs.some((d) => d.kind === 'type'))
    return { path: rel, type, action: 'create', attrs: ['type'], bytes };
  const attrs = diffs.flatMap((d) => ATTR_OF[d.kind] ?? []);
  return { path: rel, type, action: 'update', attrs, bytes };
}

/** What `verify --fix` would resend now; changes nothing. */
export async function verifyFixDryRun(
  ctx: AuditContext,
  mode: 'diff' | 'checksum',
): Promise<DryRunResult> {
  refuseDuringMirror(ctx, 'verify');
  const { differences } = await compareOnce(ctx, mode);
  const byPath = new Map<string, Difference[]>();
  for (const d of differences) byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  const items = [...byPath].map(([rel, diffs]) => itemize(fixItem(ctx, rel, diffs), '<'));
  return dryRunResult({ name: ctx.name, operation: 'verify-fix', mode: mode as MirrorMode }, items);
}
