// An independent walk of a tree, attribute by attribute (type, mode, uid, gid, mtime in ns,
// size, content sha256, link target, xattrs and ACLs as getfattr reads them), for tests that
// must not trust smr's own comparison.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Every attribute of one entry, as a comparable string per attribute. */
export type Attrs = Record<string, string>;

function xattrs(abs: string): string {
  const out = execFileSync(
    'getfattr',
    ['-d', '-m', '-', '-h', '--absolute-names', '-e', 'hex', abs],
    {
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .sort()
    .join(';');
}

/**
 * Attributes of every entry below `root` (not the root itself), keyed by relative path. `us`:
 * mtimes to the microsecond (a mirror carries them so: compare a source with its replica so).
 */
export async function attrWalk(
  root: string,
  o: { us?: boolean; xattrs?: boolean } = {},
): Promise<Map<string, Attrs>> {
  const withXattrs = o.xattrs ?? true;
  const out = new Map<string, Attrs>();
  const visit = async (rel: string): Promise<void> => {
    const abs = rel ? path.join(root, rel) : root;
    const st = await fsp.lstat(abs, { bigint: true });
    const a: Attrs = {
      type: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file',
      uid: String(st.uid),
      gid: String(st.gid),
    };
    if (!st.isSymbolicLink()) a.mode = (st.mode & 0o7777n).toString(8);
    if (!st.isDirectory()) a.mtime = String(o.us ? st.mtimeNs / 1000n : st.mtimeNs);
    if (st.isSymbolicLink()) a.link = await fsp.readlink(abs);
    else if (st.isFile()) {
      a.size = String(st.size);
      a.sha256 = crypto
        .createHash('sha256')
        .update(await fsp.readFile(abs))
        .digest('hex');
    }
    if (withXattrs && !st.isSymbolicLink()) a.xattrs = xattrs(abs);
    if (rel) out.set(rel, a);
    if (st.isDirectory())
      for (const n of (await fsp.readdir(abs)).sort()) await visit(rel ? `${rel}/${n}` : n);
  };
  await visit('');
  return out;
}

/** Each path whose attributes differ between two walks, with what differs. */
export function attrDiff(a: Map<string, Attrs>, b: Map<string, Attrs>): string[] {
  const out: string[] = [];
  for (const [p, x] of a) {
    const y = b.get(p);
    if (!y) {
      out.push(`${p}: only in the first`);
      continue;
    }
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)]))
      if (x[k] !== y[k]) out.push(`${p}: ${k} ${x[k]} != ${y[k]}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`${p}: only in the second`);
  return out.sort();
}

/** The paths whose attributes differ (or that exist in only one walk). */
export function changedPaths(a: Map<string, Attrs>, b: Map<string, Attrs>): string[] {
  const same = (x?: Attrs, y?: Attrs): boolean => JSON.stringify(x) === JSON.stringify(y);
  return [...new Set([...a.keys(), ...b.keys()])].filter((p) => !same(a.get(p), b.get(p))).sort();
}
