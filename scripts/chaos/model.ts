// What the chaos workload believes the source tree holds: every path and its type. The workload
// is the only writer of the tree, so the model stays exact and picks need no directory walk.

/** An entry type the workload creates. */
export type Kind = 'file' | 'dir' | 'symlink';

/** Paths (relative, POSIX) and their types; '' is the root and is never in the map. */
export class TreeModel {
  private readonly map = new Map<string, Kind>();

  get size(): number {
    return this.map.size;
  }

  get(rel: string): Kind | undefined {
    return this.map.get(rel);
  }

  set(rel: string, kind: Kind): void {
    this.map.set(rel, kind);
  }

  clear(): void {
    this.map.clear();
  }

  /** Every path of one kind (directories include the root, ''). */
  all(kind: Kind): string[] {
    const out = kind === 'dir' ? [''] : [];
    for (const [p, k] of this.map) if (k === kind) out.push(p);
    return out;
  }

  /** Paths strictly below `rel`. */
  below(rel: string): string[] {
    const prefix = rel + '/';
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Forgets `rel` and everything below it. */
  deleteTree(rel: string): void {
    this.map.delete(rel);
    for (const k of this.below(rel)) this.map.delete(k);
  }

  /** Moves `from` and everything below it to `to` (whatever was at `to` is gone). */
  moveTree(from: string, to: string): void {
    const moved: Array<[string, Kind]> = [];
    for (const k of [from, ...this.below(from)]) {
      const v = this.map.get(k);
      if (v) moved.push([to + k.slice(from.length), v]);
    }
    this.deleteTree(to);
    this.deleteTree(from);
    for (const [k, v] of moved) this.map.set(k, v);
  }

  /** Depth of a path (root 0). */
  static depth(rel: string): number {
    return rel === '' ? 0 : rel.split('/').length;
  }

  /** True when `a` is `b` or lies below it. */
  static within(a: string, b: string): boolean {
    return b === '' || a === b || a.startsWith(b + '/');
  }
}

/** `parent/name` (or `name` at the root). */
export function join(parent: string, name: string): string {
  return parent ? `${parent}/${name}` : name;
}
