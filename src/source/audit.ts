// verify and orphans: compare the source set with the replica, report each difference, and
// (on request) fix them or delete orphans behind a safety brake.
import { SmrError } from '../shared/errors.js';
import { typeLetter } from '../protocol/listing.js';
import { blocksReply, type BlocksReply } from '../protocol/requests.js';
import type { Capture } from './capture.js';
import { deletionBrake } from './brake.js';
import { compareTrees, type Compared } from './compare.js';
import { attributesOnly, resendAttrs } from './attr-diff.js';
import type { Difference, OrphansResult, VerifyResult } from '../control/replies.js';

/** The replies of verify and orphans (their shapes are the control channel's). */
export type { OrphansResult, VerifyResult };
import type { PathFilter } from './filter.js';
import type { Link } from './link.js';
import { ReplicaListing } from './replica-listing.js';
import { TargetView } from './target-view.js';
import type { AuditProgress } from './audit-progress.js';

/** What verify and orphans need from a connection. */
export interface AuditContext {
  name: string;
  base: string;
  filter: PathFilter;
  link: Link;
  capture: Capture;
  mirrorActive: () => boolean;
  /** Captures what changed relative to the index, then waits until the target acknowledged it. */
  drained: (timeoutMs: number) => Promise<void>;
  /** Where the running audit reports how far it got (status.audit). */
  progress: AuditProgress;
}

const DRAIN_MS = 10 * 60_000;

/** Verify, orphans and dry runs compare a moving target while a mirror runs: refused. */
export function refuseDuringMirror(ctx: AuditContext, verb: string): void {
  if (ctx.mirrorActive()) {
    throw new SmrError(
      'usage',
      `a mirror of ${ctx.name} is running; ${verb} would compare a moving target`,
      `wait for it (smr wait ${ctx.name} --for mirrored) or stop it (smr mirror stop ${ctx.name})`,
    );
  }
}

/** The target's listing, by path, on disk; the caller closes it. */
export async function listing(ctx: AuditContext): Promise<ReplicaListing> {
  const target = new ReplicaListing();
  try {
    await ctx.link.listTarget((items) => target.add(items));
    return target;
  } catch (err) {
    target.close();
    throw err;
  }
}

function remoteBlocks(ctx: AuditContext): (rel: string) => Promise<BlocksReply> {
  return async (rel) => blocksReply(await ctx.link.request({ op: 'blocks', p: rel }));
}

/** One comparison of the whole tree (verify's, and verify --fix --dry-run's). */
export async function compareOnce(ctx: AuditContext, mode: 'diff' | 'checksum'): Promise<Compared> {
  await ctx.drained(DRAIN_MS);
  const target = await listing(ctx);
  try {
    return await compareWith(ctx, mode, target);
  } finally {
    target.close();
  }
}

async function compareWith(
  ctx: AuditContext,
  mode: 'diff' | 'checksum',
  target: ReplicaListing,
): Promise<Compared> {
  const totals = target.totals();
  ctx.progress.listed(totals.entries, totals.fileBytes);
  const r = await compareTrees({
    base: ctx.base,
    filter: ctx.filter,
    target,
    mode,
    remoteBlocks: remoteBlocks(ctx),
    attrs: ctx.capture.ledger.attrs,
    onEntry: (n) => ctx.progress.entry(n),
    skipped: ctx.capture.skipped,
    hardLinks: ctx.capture.hardLinks,
  });
  for (const o of target.orphans(ctx.filter))
    r.differences.push({ path: o.path, kind: 'orphan', target: typeLetter(o.type) });
  r.differences.sort((a, b) => a.path.localeCompare(b.path) || a.kind.localeCompare(b.kind));
  return r;
}

/** `smr verify`: lists differences; with `fix`, resends what differs (not orphans) and checks again. */
export async function verify(
  ctx: AuditContext,
  mode: 'diff' | 'checksum',
  fix: boolean,
): Promise<VerifyResult> {
  refuseDuringMirror(ctx, 'verify');
  ctx.progress.begin('verify', mode);
  try {
    return await verifyRun(ctx, mode, fix);
  } finally {
    ctx.progress.end();
  }
}

async function verifyRun(
  ctx: AuditContext,
  mode: 'diff' | 'checksum',
  fix: boolean,
): Promise<VerifyResult> {
  const first = await compareOnce(ctx, mode);
  const result: VerifyResult = {
    name: ctx.name,
    mode,
    equal: first.differences.length === 0,
    ...first,
  };
  if (!fix || result.equal) return result;
  const byPath = new Map<string, Difference[]>();
  for (const d of first.differences)
    if (d.kind !== 'orphan') byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  const paths = [...byPath.keys()];
  ctx.progress.fixing();
  // Attribute-only differences get an `attr` op, without data; anything else is resent.
  for (const [rel, diffs] of byPath)
    ctx.capture.detach(() =>
      attributesOnly(diffs, mode === 'checksum')
        ? resendAttrs(ctx.capture, rel)
        : // Linked otherwise on the target: as a link to a name the index holds, if one is.
          ctx.capture.resend(rel, relinks(diffs)),
    );
  const second = await compareOnce(ctx, mode);
  return {
    name: ctx.name,
    mode,
    equal: second.differences.length === 0,
    ...second,
    fixed: paths.length,
    before: first.differences,
  };
}

/** `smr orphans`: lists target paths outside the source set; deletes them behind a safety brake. */
export async function orphans(
  ctx: AuditContext,
  o: { delete: boolean; force: boolean; maxShare: number },
): Promise<OrphansResult> {
  refuseDuringMirror(ctx, 'orphans');
  ctx.progress.begin('orphans', 'diff');
  await ctx.drained(DRAIN_MS);
  // Live changes go on meanwhile: the view keeps orphans under their current target names.
  const view = new TargetView(ctx.capture);
  try {
    view.listed(await ctx.link.listTarget((items) => view.add(items)));
    ctx.progress.listed(view.entries.totals().entries, 0);
    return await orphansIn(ctx, o, view);
  } finally {
    view.close();
    ctx.progress.end();
  }
}

async function orphansIn(
  ctx: AuditContext,
  o: { delete: boolean; force: boolean; maxShare: number },
  view: TargetView,
): Promise<OrphansResult> {
  const target = view.entries;
  const total = target.totals().entries;
  const { entries } = await compareTrees({
    base: ctx.base,
    filter: ctx.filter,
    target,
    mode: 'diff',
    remoteBlocks: remoteBlocks(ctx),
    onEntry: () => ctx.progress.entry(0),
  });
  // The reply names every orphan: those are held, sorted as before.
  const found = target.sortedOrphans(ctx.filter);
  const result: OrphansResult = {
    name: ctx.name,
    orphans: found.map((t) => ({ path: t.path, type: typeLetter(t.type), size: t.size })),
    deleted: 0,
  };
  if (!o.delete || found.length === 0) return result;
  const brake = deletionBrake({
    deletes: found.length,
    targetEntries: total,
    sourceEntries: entries,
    maxShare: o.maxShare,
    base: ctx.base,
    force: o.force,
  });
  if (brake) {
    throw new SmrError(
      'usage',
      `refusing to delete orphans of ${ctx.name}: ${brake}`,
      'check the source path and the exclude rules; add --force, or raise --max-delete-percent',
    );
  }
  result.deleted = await view.deleteOrphans(ctx.filter, () => true);
  await ctx.drained(DRAIN_MS);
  return result;
}

/** A resend that may link `rel` to another name of its inode (hard-link.ts). */
function relinks(diffs: readonly Difference[]): { linkAfter?: number } {
  return diffs.some((d) => d.kind === 'hardlinks') ? { linkAfter: -1 } : {};
}
