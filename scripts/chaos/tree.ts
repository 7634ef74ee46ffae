// The chaos harness's own tree comparison: both trees walked here with lstat, never through smr
// (its verify is what is under test). Compared per path: type, content hash, mode, link target.
import crypto from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';

/** One entry of a walked tree. */
export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  sha256?: string;
  link?: string;
}

/** How a path differs between source and target. */
export type DiffKind = 'missing' | 'extra' | 'type' | 'content' | 'mode' | 'link' | 'temp';

/** One difference found by compareTrees. */
export interface TreeDiff {
  path: string;
  kind: DiffKind;
  source?: string;
  target?: string;
}

/** Names the target uses for transfers in progress (src/target/temp-files.ts). */
const TMP_PREFIX = '.smr-tmp-';

async function sha256(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every entry below `root` (links not followed), keyed by relative POSIX path. */
export async function walkTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const walk = async (rel: string): Promise<void> => {
    const names = await fsp.readdir(rel ? path.join(root, rel) : root).catch(() => []);
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const abs = path.join(root, r);
      const st = await fsp.lstat(abs).catch(() => null);
      if (!st) continue;
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink())
        out.set(r, { type: 'symlink', mode: 0, size: 0, link: await fsp.readlink(abs) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode, size: 0 });
        await walk(r);
      } else if (st.isFile())
        out.set(r, { type: 'file', mode, size: st.size, sha256: await sha256(abs) });
      else out.set(r, { type: 'other', mode, size: 0 });
    }
  };
  await walk('');
  return out;
}

function describe(e: TreeEntry): string {
  if (e.type === 'file') return `file ${e.size} B ${e.sha256?.slice(0, 12)} mode ${oct(e.mode)}`;
  if (e.type === 'symlink') return `symlink -> ${e.link}`;
  return `${e.type} mode ${oct(e.mode)}`;
}

function oct(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Differences between a source tree and its replica (empty when they are equal). */
export function compareTrees(src: Map<string, TreeEntry>, dst: Map<string, TreeEntry>): TreeDiff[] {
  const out: TreeDiff[] = [];
  for (const [p, s] of src) {
    const t = dst.get(p);
    if (!t) out.push({ path: p, kind: 'missing', source: describe(s) });
    else if (s.type !== t.type)
      out.push({ path: p, kind: 'type', source: describe(s), target: describe(t) });
    else if (s.type === 'symlink') {
      if (s.link !== t.link) out.push({ path: p, kind: 'link', source: s.link, target: t.link });
    } else {
      if (s.type === 'file' && (s.size !== t.size || s.sha256 !== t.sha256))
        out.push({ path: p, kind: 'content', source: describe(s), target: describe(t) });
      if (s.mode !== t.mode)
        out.push({ path: p, kind: 'mode', source: oct(s.mode), target: oct(t.mode) });
    }
  }
  for (const [p, t] of dst) {
    if (src.has(p)) continue;
    const temp = path.posix.basename(p).startsWith(TMP_PREFIX);
    out.push({ path: p, kind: temp ? 'temp' : 'extra', target: describe(t) });
  }
  return out;
}

/** The differences that make a divergence (leftover temp files are counted apart). */
export function divergent(diffs: TreeDiff[]): TreeDiff[] {
  return diffs.filter((d) => d.kind !== 'temp');
}

/** Collapses an extra or missing directory's descendants into it, for a readable summary. */
export function summarize(diffs: TreeDiff[]): TreeDiff[] {
  const trees = new Set(
    diffs.filter((d) => /^dir /.test(d.source ?? d.target ?? '')).map((d) => `${d.kind}:${d.path}`),
  );
  return diffs.filter((d) => {
    for (let i = d.path.indexOf('/'); i > 0; i = d.path.indexOf('/', i + 1))
      if (trees.has(`${d.kind}:${d.path.slice(0, i)}`)) return false;
    return true;
  });
}

/** Counts of each difference kind, like `{missing: 2, extra: 5}`. */
export function countKinds(diffs: TreeDiff[]): Partial<Record<DiffKind, number>> {
  const out: Partial<Record<DiffKind, number>> = {};
  for (const d of diffs) out[d.kind] = (out[d.kind] ?? 0) + 1;
  return out;
}
