// The smr checkout a harness belongs to, found by walking up from the running file (compiled into
// bench/work or run from scripts/ by vitest alike).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory above `from` (a module's import.meta.url) whose package.json is smr's. */
export function repoRoot(from: string): string {
  let dir = path.dirname(fileURLToPath(from));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'smr'
    )
      return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the smr checkout above ${from}`);
    dir = up;
  }
}
