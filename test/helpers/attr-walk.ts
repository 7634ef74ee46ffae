// Independent comparisons of trees, attribute by attribute, with the system's own tools and
// Node's lstat, for tests that must not trust smr's own comparison: find (type, mode, numeric
// owner, size, mtime to the ns, link target), getfattr (every xattr, the ACLs' system.posix_acl_*
// included, of links themselves), `rsync -aHAXSn --numeric-ids -i` (what rsync would still
// change), and a walk keyed by path (attrWalk) with content sha256 too. None of it is smr's code.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'latin1', maxBuffer: 64 << 20 });
}

/** One line per entry (the root's own line left out: the replica root is the target's). */
export function describeTree(dir: string): string[] {
  const lines = run(
    'find',
    ['.', '-mindepth', '1', '-printf', '%p|%y|%m|%U:%G|%s|%T@|%l|%n\\n'],
    dir,
  )
    .split('\n')
    .filter(Boolean)
    // A directory's size is the filesystem's business; nlink of a directory counts its subdirs.
    .map((l) => {
      const f = l.split('|');
      if (f[1] === 'd') f[4] = '-';
      return f.join('|');
    });
  const xattrs = run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], dir)
    .split('\n\n')
    .map((block) => block.trim().split('\n'))
    .filter((b) => b[0]?.startsWith('# file: ') && b[0] !== '# file: .')
    .map((b) => `${b[0]!.slice(8)}|xattrs|${b.slice(1).sort().join(',')}`);
  return [...lines, ...xattrs].sort();
}

/** Entries whose description differs between `a` and `b`. */
export function attrDifferences(a: string, b: string): string[] {
  const [la, lb] = [new Set(describeTree(a)), new Set(describeTree(b))];
  return [
    ...[...la].filter((l) => !lb.has(l)).map((l) => `source only: ${l}`),
    ...[...lb].filter((l) => !la.has(l)).map((l) => `replica only: ${l}`),
  ];
}

/** What `rsync -aHAXSn --numeric-ids -i a/ b/` would still change ('./' itself left out). */
export function rsyncDifferences(a: string, b: string): string[] {
  const out = run('rsync', ['-aHAXSn', '--numeric-ids', '-i', `${a}/`, `${b}/`], '/');
  return out.split('\n').filter((l) => l && !/ \.\/$/.test(l));
}

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
