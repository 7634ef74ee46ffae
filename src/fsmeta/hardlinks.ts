// Hard-link grouping: which names of a tree share an inode, and where two trees group differently.

/** One name of a tree with the inode it names (nlink 1 entries may be left out). */
export interface LinkMember {
  rel: Buffer;
  dev: bigint;
  ino: bigint;
  nlink: number;
}

/** Names grouped by inode: only inodes with more than one name inside the tree form a group. */
export function linkGroups(members: Iterable<LinkMember>): Buffer[][] {
  const byInode = new Map<string, Buffer[]>();
  for (const m of members) {
    if (m.nlink < 2) continue;
    const key = `${m.dev}:${m.ino}`;
    const g = byInode.get(key);
    if (g) g.push(m.rel);
    else byInode.set(key, [m.rel]);
  }
  return [...byInode.values()].filter((g) => g.length > 1).map((g) => g.sort(Buffer.compare));
}

/**
 * Names whose set of hard-link partners differs between two trees (verify's "hard links"):
 * a name linked on one side and separate, or linked to other names, on the other.
 */
export function linkGroupDiff(a: Iterable<LinkMember>, b: Iterable<LinkMember>): Buffer[] {
  const pa = partners(linkGroups(a));
  const pb = partners(linkGroups(b));
  const out: Buffer[] = [];
  for (const key of new Set([...pa.keys(), ...pb.keys()])) {
    if (pa.get(key) !== pb.get(key)) out.push(Buffer.from(key, 'hex'));
  }
  return out.sort(Buffer.compare);
}

// name (hex) -> its whole group as one string, so two sides compare with ===.
function partners(groups: Buffer[][]): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of groups) {
    const id = g.map((b) => b.toString('hex')).join('/');
    for (const rel of g) out.set(rel.toString('hex'), id);
  }
  return out;
}
