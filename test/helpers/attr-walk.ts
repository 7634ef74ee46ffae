// An independent attribute-by-attribute comparison of two trees, with the system's own tools:
// find (type, mode, numeric owner, size, mtime to the ns, link target), getfattr (every xattr,
// the ACLs' system.posix_acl_* included, of links themselves) and `rsync -aHAXSn --numeric-ids
// -i` (what rsync would still change). None of it is smr's code.
import { execFileSync } from 'node:child_process';

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
