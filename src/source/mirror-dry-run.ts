// `mirror start --dry-run`: what a mirror would send, decided by the mirror's own functions over
// the same listing and scan (mirror-plan.ts decide/differs, the checksum pass's sums, orphansOf
// and the orphans' brake), with nothing queued. A real mirror started right after, on an
// unchanged tree, changes exactly the paths listed here (test/e2e/dry-run.test.ts).
import { type Stats } from 'node:fs';
import path from 'node:path';
import type { DryRunItem, DryRunResult } from '../control/replies.js';
import type { ListEntry } from '../protocol/listing.js';
import { sumsReply } from '../protocol/requests.js';
import { listing, refuseDuringMirror, type AuditContext } from './audit.js';
import { deletionBrake } from './brake.js';
import { MTIME_TOLERANCE_MS } from './compare.js';
import { knownType, type ScanStat } from './entry-type.js';
import { dryRunResult, itemize, type ItemFacts } from './itemize.js';
import { attrsDiffer } from './mirror-file.js';
import { decide, differs, type MirrorOptions } from './mirror-plan.js';
import { SUMS_BATCH, SUMS_BATCH_BYTES, splitBySums, type Candidate } from './mirror-sums.js';
import { rdevDiffers } from './rdev.js';
import { scanTree } from './scan.js';
import { readlinkName } from '../shared/fsutil.js';
import type { ReplicaListing } from './replica-listing.js';

const DRAIN_MS = 10 * 60_000;

/** The attributes the listing shows differing between a source entry and the target's. */
async function differing(base: string, rel: string, st: ScanStat, t: ListEntry): Promise<string[]> {
  const out: string[] = [];
  if (st.isSymbolicLink()) {
    const link = await readlinkName(path.join(base, rel)).catch(() => '');
    if (link !== t.link) out.push('link target');
  } else if (!st.isDirectory() && st.size !== t.size) out.push('size');
  if (!st.isDirectory() && Math.abs(st.mtimeMs - t.mtimeMs) > MTIME_TOLERANCE_MS) out.push('mtime');
  if (!st.isSymbolicLink() && (st.mode & 0o7777) !== t.mode) out.push('mode');
  if (rdevDiffers(st, t)) out.push('device');
  return out;
}

/** The item for a source entry the mirror sends (`whole`) or compares (`blocks`). */
async function sentItem(base: string, rel: string, st: Stats, t?: ListEntry): Promise<ItemFacts> {
  const type = knownType(st) ?? 'file';
  const bytes = type === 'file' ? st.size : 0;
  if (!t) return { path: rel, type, action: 'create', bytes };
  if (t.type !== type) return { path: rel, type, action: 'create', attrs: ['type'], bytes };
  const attrs = await differing(base, rel, st, t);
  // A symlink sent again is made again; a file goes whole or by blocks (at most its size).
  if (type === 'symlink' && !attrs.includes('link target')) attrs.unshift('link target');
  return { path: rel, type, action: 'update', attrs, bytes };
}

/** The checksum mode's comparison by sha256, as the mirror makes it (mirror-sums.ts). */
async function checksumItems(ctx: AuditContext, batch: Candidate[]): Promise<ItemFacts[]> {
  const ask = async (paths: string[]) =>
    sumsReply(await ctx.link.request({ op: 'sums', paths }), paths.length);
  const { equal, differ } = await splitBySums(ctx.base, batch, ask);
  const out: ItemFacts[] = [];
  for (const b of differ) {
    const attrs = ['content', ...(await differing(ctx.base, b.rel, b.st, b.t))];
    out.push({ path: b.rel, type: 'file', action: 'update', attrs, bytes: b.st.size });
  }
  // Equal content: the mirror sends only mode and mtime, when they differ.
  for (const [b] of equal)
    if (attrsDiffer(b.st, b.t)) {
      const attrs = await differing(ctx.base, b.rel, b.st, b.t);
      out.push({ path: b.rel, type: 'file', action: 'update', attrs, bytes: 0 });
    }
  return out;
}

/** What `mirror start` with `opts` would do now; changes nothing. */
export async function mirrorDryRun(ctx: AuditContext, opts: MirrorOptions): Promise<DryRunResult> {
  refuseDuringMirror(ctx, 'a dry run');
  await ctx.drained(DRAIN_MS);
  const target = await listing(ctx);
  try {
    return await dryRunWith(ctx, opts, target);
  } finally {
    target.close();
  }
}

async function dryRunWith(
  ctx: AuditContext,
  opts: MirrorOptions,
  target: ReplicaListing,
): Promise<DryRunResult> {
  const targetEntries = target.size;
  const facts: ItemFacts[] = [];
  let sourceEntries = 0;
  let batch: Candidate[] = [];
  let batchBytes = 0;
  for await (const { rel, st } of scanTree(ctx.base, ctx.filter, '', undefined, true)) {
    sourceEntries++;
    const t = target.get(rel);
    target.delete(rel);
    const action = decide(st, t, opts);
    if (action === 'same') {
      if (opts.newerOnly && t && differs(st, t, { mode: opts.mode })) {
        const reason = 'not newer than the target (--newer-only)';
        facts.push({ path: rel, type: knownType(st) ?? 'file', action: 'skip', reason });
      }
      continue;
    }
    if (opts.mode === 'checksum' && action === 'blocks' && t && t.size === st.size) {
      batch.push({ rel, st, t });
      batchBytes += st.size;
      if (batch.length >= SUMS_BATCH || batchBytes >= SUMS_BATCH_BYTES) {
        facts.push(...(await checksumItems(ctx, batch)));
        [batch, batchBytes] = [[], 0];
      }
      continue;
    }
    const f = await sentItem(ctx.base, rel, st, t);
    if (opts.mode === 'checksum' && f.action === 'update' && f.type === 'file')
      f.attrs?.unshift('content');
    facts.push(f);
  }
  if (batch.length) facts.push(...(await checksumItems(ctx, batch)));
  facts.push(...orphanItems(ctx, opts, target, { targetEntries, sourceEntries }));
  const items: DryRunItem[] = facts.map((f) => itemize(f, '<'));
  return dryRunResult({ name: ctx.name, operation: 'mirror', mode: opts.mode }, items);
}

/** The orphans: deleted (with --delete-orphans, past the brake) or kept. */
function orphanItems(
  ctx: AuditContext,
  opts: MirrorOptions,
  rest: ReplicaListing,
  n: { targetEntries: number; sourceEntries: number },
): ItemFacts[] {
  const found = rest.sortedOrphans(ctx.filter);
  const brake = opts.deleteOrphans
    ? deletionBrake({
        deletes: found.length,
        ...n,
        base: ctx.base,
        force: opts.force,
      })
    : null;
  const reason = !opts.deleteOrphans
    ? 'only on the target: kept (--delete-orphans deletes it)'
    : brake
      ? `only on the target: not deleted, ${brake}`
      : undefined;
  return found.map((t) =>
    reason
      ? { path: t.path, type: t.type, action: 'skip', reason }
      : { path: t.path, type: t.type, action: 'delete' },
  );
}
