// The one place where capture's paths (strings, '/'-separated, relative to the connection's root)
// become the index's paths (bytes) and back. Names are UTF-8 today; when names that are not UTF-8
// are carried as bytes, only this module changes.

/** The index path of a capture path. */
export function pathKey(rel: string): Buffer {
  return Buffer.from(rel, 'utf8');
}

/** The capture path of an index path. */
export function relOf(p: Buffer): string {
  return p.toString('utf8');
}

/** Orders names as the index iterates them: by their bytes (a depth-first walk yields path order). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(pathKey(a), pathKey(b));
}

/** Whether `rel` is `dir` or lies below it. */
export function within(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || rel.startsWith(dir + '/');
}
