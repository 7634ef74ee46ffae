// Carrying out a restore plan: directories first, then files (rebuilt by restore-fetch.ts into a
// temp file, given every attribute, then renamed into place, so a path is never half restored)
// and symlinks; directories' attributes last, deepest first (writing into a directory changes
// its mtime). Names of one inode on the replica become hard links of the first one restored (as
// rsync -H does); fifos, sockets and devices are made with mknod (as rsync -D does). Each entry
// that cannot be restored is logged and counted; the others go on.
import crypto from 'node:crypto';
import { promises as fsp, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { applyMetaSync, displayPath, makeNodeSync } from '../fsmeta/index.js';
import { isSpecialType } from '../protocol/listing.js';
import { metaReply, MAX_META_PATHS, type ReplicaMeta } from '../protocol/restore-requests.js';
import { asSmrError } from '../shared/errors.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { log } from '../shared/log.js';
import { fetchFile, type Ask } from './restore-fetch.js';
import type { RestoreStep } from './restore-plan.js';
import { fsPath, nameBytes } from '../fsmeta/index.js';

/** Where a restore writes and how it reports. */
export interface WriteContext {
  ask: Ask;
  dest: string;
  from?: string;
  /** The full mode sends every file whole (no basis). */
  whole: boolean;
  /** One entry done: its data bytes (at most its size). */
  done: (step: RestoreStep, bytes: number) => void;
  /** One entry failed (logged already). */
  failed: (step: RestoreStep, why: string) => void;
  /** One special entry this process may not make (a device, not as root; logged already). */
  skipped: (step: RestoreStep, why: string) => void;
}

/** Every attribute of the replica's `paths`, asking as often as replies fill up. */
async function metasOf(ctx: WriteContext, paths: string[]): Promise<Map<string, ReplicaMeta>> {
  const out = new Map<string, ReplicaMeta>();
  let i = 0;
  while (i < paths.length) {
    const ask = paths.slice(i, i + MAX_META_PATHS);
    const r = await ctx.ask({ op: 'meta', paths: ask, ...(ctx.from ? { from: ctx.from } : {}) });
    const metas = metaReply(r.body, ask.length);
    metas.forEach((m, k) => m && out.set(ask[k] as string, m));
    i += metas.length;
  }
  return out;
}

const absOf = (dest: string, rel: string): string => path.join(dest, ...rel.split('/'));
const tempBeside = (abs: string): string =>
  path.join(path.dirname(abs), `.smr-tmp-restore-${crypto.randomBytes(6).toString('hex')}`);

/** Removes what is in the way of an entry of another type. */
async function clear(abs: string): Promise<void> {
  await fsp.rm(fsPath(abs), { recursive: true, force: true });
}

/** Sets every attribute, saying which could not be set (not root, no ACL support). */
function applyMeta(abs: string, m: ReplicaMeta, rel: string): void {
  const r = applyMetaSync(abs, m);
  for (const n of r.notApplied)
    log.warn(`restore: ${displayPath(rel)}: ${n.attr} not restored: ${n.reason}`);
}

async function writeFile(ctx: WriteContext, s: RestoreStep, m: ReplicaMeta): Promise<number> {
  const abs = absOf(ctx.dest, s.rel);
  const have = lstatOrNull(abs);
  const basis = !ctx.whole && have?.isFile() ? abs : null;
  const out = tempBeside(abs);
  const f = await fetchFile(ctx.ask, { rel: s.rel, from: ctx.from, basis, out });
  if (f.unchanged) {
    applyMeta(abs, m, s.rel);
    return 0;
  }
  try {
    applyMeta(out, m, s.rel);
    if (s.replace) await clear(abs);
    await fsp.rename(fsPath(out), fsPath(abs));
  } finally {
    await fsp.rm(fsPath(out), { force: true });
  }
  return f.literal;
}

async function writeLink(ctx: WriteContext, s: RestoreStep, m: ReplicaMeta): Promise<void> {
  const abs = absOf(ctx.dest, s.rel);
  const tmp = tempBeside(abs);
  await fsp.symlink(m.linkTarget ?? nameBytes(s.t.link ?? ''), fsPath(tmp));
  try {
    applyMeta(tmp, m, s.rel);
    if (s.replace) await clear(abs);
    await fsp.rename(fsPath(tmp), fsPath(abs));
  } finally {
    await fsp.rm(fsPath(tmp), { force: true });
  }
}

/**
 * A fifo, socket or device node, made beside its place and renamed into it (whatever stood there
 * is replaced). Returns why it was not made (devices need root), or null.
 */
function writeNode(ctx: WriteContext, s: RestoreStep, m: ReplicaMeta): string | null {
  if (!isSpecialType(s.t.type)) throw new Error(`not a special entry: ${s.t.type}`);
  const abs = absOf(ctx.dest, s.rel);
  const tmp = tempBeside(abs);
  const rdev = s.t.rdev && { major: s.t.rdev[0], minor: s.t.rdev[1] };
  const made = makeNodeSync(tmp, s.t.type, m.mode, rdev);
  if ('skipped' in made) return made.skipped.replace(displayPath(tmp), displayPath(s.rel));
  try {
    applyMeta(tmp, m, s.rel);
    // A directory in the way goes first (rename cannot replace one); anything else is replaced.
    if (s.replace && lstatOrNull(abs)?.isDirectory()) rmSync(fsPath(abs), { recursive: true });
    renameSync(fsPath(tmp), fsPath(abs));
  } finally {
    rmSync(fsPath(tmp), { force: true });
  }
  return null;
}

/** Another name for a file this restore already wrote (same inode on the replica): a link. */
async function writeHardLink(ctx: WriteContext, s: RestoreStep, first: string): Promise<void> {
  const abs = absOf(ctx.dest, s.rel);
  const tmp = tempBeside(abs);
  await fsp.link(fsPath(first), fsPath(tmp));
  try {
    if (s.replace) await clear(abs);
    await fsp.rename(fsPath(tmp), fsPath(abs));
  } finally {
    // Left over when `abs` already was this inode (rename of one inode onto itself is a no-op).
    await fsp.rm(fsPath(tmp), { force: true });
  }
}

/** Restored files by the replica's inode (`dev:ino`), for the names that share one. */
type Written = Map<string, string>;

async function writeRegular(
  ctx: WriteContext,
  s: RestoreStep,
  m: ReplicaMeta,
  written: Written,
): Promise<number> {
  const first = s.t.inode === undefined ? undefined : written.get(s.t.inode);
  if (first !== undefined && lstatOrNull(first)?.isFile()) {
    await writeHardLink(ctx, s, first);
    return 0;
  }
  const bytes = await writeFile(ctx, s, m);
  if (s.t.inode !== undefined) written.set(s.t.inode, absOf(ctx.dest, s.rel));
  return bytes;
}

async function one(
  ctx: WriteContext,
  s: RestoreStep,
  m: ReplicaMeta | undefined,
  written: Written,
): Promise<void> {
  try {
    if (!m) throw new Error('gone from the replica since it was listed');
    if (m.type !== s.t.type) throw new Error(`now a ${m.type} on the replica`);
    if (s.metaOnly && s.t.type !== 'dir') {
      // Same data, other owner/xattrs/ACLs: set in place (a directory's come last, as ever).
      const abs = absOf(ctx.dest, s.rel);
      applyMeta(abs, m, s.rel);
      if (s.t.type === 'file' && s.t.inode !== undefined) written.set(s.t.inode, abs);
      ctx.done(s, 0);
      return;
    }
    if (s.t.type === 'dir') {
      const abs = absOf(ctx.dest, s.rel);
      if (s.replace) await clear(abs);
      await fsp.mkdir(fsPath(abs), { recursive: true });
      ctx.done(s, 0); // its attributes come last
    } else if (s.t.type === 'symlink') {
      await writeLink(ctx, s, m);
      ctx.done(s, 0);
    } else if (isSpecialType(s.t.type)) {
      const why = writeNode(ctx, s, m);
      if (why) {
        log.warn(`restore: ${displayPath(s.rel)} skipped: ${why}`);
        ctx.skipped(s, why);
      } else ctx.done(s, 0);
    } else ctx.done(s, await writeRegular(ctx, s, m, written));
  } catch (err) {
    const why = asSmrError(err).message;
    log.warn(`restore: ${displayPath(s.rel)} not restored: ${why}`);
    ctx.failed(s, why);
  }
}

/** The directories holding `rels` (their mtimes change as entries are written into them). */
function parents(rels: string[]): string[] {
  const out = new Set<string>();
  for (const rel of rels)
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1))
      out.add(rel.slice(0, i));
  return [...out];
}

/** Writes every step of the plan (in path order: a directory before what it holds). */
export async function writeRestore(ctx: WriteContext, steps: RestoreStep[]): Promise<void> {
  await fsp.mkdir(fsPath(ctx.dest), { recursive: true });
  const rels = steps.map((s) => s.rel);
  const dirs = [
    ...new Set([...steps.filter((s) => s.t.type === 'dir').map((s) => s.rel), ...parents(rels)]),
  ];
  const metas = await metasOf(ctx, [...new Set([...rels, ...dirs])]);
  const written: Written = new Map();
  for (const s of steps) await one(ctx, s, metas.get(s.rel), written);
  // Directories' attributes last, deepest first: their entries are settled by now.
  dirs.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  for (const rel of dirs) {
    const m = metas.get(rel);
    const abs = absOf(ctx.dest, rel);
    if (m?.type === 'dir' && lstatOrNull(abs)?.isDirectory()) applyMeta(abs, m, rel);
  }
}
