// What the target holds as far as this source knows: the last state of each path put into the
// queue. Capture compares the disk with it to decide which operations a change needs.

/** One known path. */
export interface Known {
  type: 'file' | 'dir' | 'symlink';
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  mode: number;
  link?: string;
  /** Owner, ns mtime and xattr/ACL digest last sent (entry-attrs.ts); absent: not carried. */
  stamp?: string;
}

/** Map of relative path -> known state, with an inode index for rename detection. */
export class KnownState {
  private map = new Map<string, Known>();
  private byIno = new Map<string, string>();

  private static inoKey(k: Known): string {
    return `${k.dev}:${k.ino}`;
  }

  get(rel: string): Known | undefined {
    return this.map.get(rel);
  }

  set(rel: string, k: Known): void {
    this.delete(rel);
    this.map.set(rel, k);
    this.byIno.set(KnownState.inoKey(k), rel);
  }

  delete(rel: string): void {
    const old = this.map.get(rel);
    if (!old) return;
    this.map.delete(rel);
    const key = KnownState.inoKey(old);
    if (this.byIno.get(key) === rel) this.byIno.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Every known path (a snapshot, safe to mutate the state while iterating). */
  paths(): string[] {
    return [...this.map.keys()];
  }

  clear(): void {
    this.map.clear();
    this.byIno.clear();
  }

  /** Known paths strictly below `rel`. */
  childrenOf(rel: string): string[] {
    const prefix = rel + '/';
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Forgets a path and everything below it. */
  deleteTree(rel: string): void {
    this.delete(rel);
    for (const k of this.childrenOf(rel)) this.delete(k);
  }

  /** Moves a path and everything below it (a rename). */
  moveTree(from: string, to: string): void {
    const moved: Array<[string, Known]> = [];
    for (const k of [from, ...this.childrenOf(from)]) {
      const v = this.map.get(k);
      if (v) moved.push([to + k.slice(from.length), v]);
    }
    this.deleteTree(to);
    this.deleteTree(from);
    for (const [k, v] of moved) this.set(k, v);
  }

  /** The known path holding this inode, if any. */
  pathOfInode(dev: number, ino: number): string | undefined {
    return this.byIno.get(`${dev}:${ino}`);
  }
}
