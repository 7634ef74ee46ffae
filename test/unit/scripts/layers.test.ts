// The layering check itself: the real src/ passes; a tree that breaks each rule is refused with
// one line per problem naming the file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = path.join(ROOT, 'scripts', 'layers.mjs');

function run(args: string[] = []): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** A src-like tree from { 'folder/file.ts': 'source' }. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smr-layers-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('npm run layers', () => {
  it('passes on src/', () => {
    const r = run();
    expect(r.out).toMatch(/all as docs\/ARCHITECTURE.md allows/);
    expect(r.code).toBe(0);
  });

  it('refuses source <-> target, imports of cli, a package in two modules, stray types', () => {
    const dir = tree({
      'shared/a.ts': 'export const a = 1;\n',
      'source/s.ts': "import { t } from '../target/t.js';\nexport const s = t;\n",
      'target/t.ts': "import type { S } from '../source/types.js';\nexport const t: S = 1;\n",
      'source/types.ts': 'export type S = number;\n',
      'protocol/p.ts': "export { v } from '../cli/v.js';\n",
      'cli/v.ts': "import yargs from 'yargs';\nexport const v = yargs;\n",
      'delta/d.ts': "import x from 'yargs';\nexport const d = x;\n",
      'journal/j.ts': "import type { Argv } from 'yargs';\nexport type J = Argv;\n",
      'config/c.ts': "export async function c() {\n  return import('../source/s.js');\n}\n",
      'weird/w.ts': 'export {};\n',
    });
    const r = run(['--src', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("source/s.ts: src/source may not import src/target ('../target/t.js')");
    expect(r.out).toContain('target/t.ts: src/target may not import src/source');
    expect(r.out).toContain('protocol/p.ts: src/protocol may not import src/cli');
    expect(r.out).toContain('config/c.ts: src/config may not import src/source');
    expect(r.out).toMatch(/yargs is imported by 2 modules/);
    expect(r.out).toMatch(/journal\/j.ts: imports types of yargs outside/);
    expect(r.out).toMatch(/folder src\/weird is not in the layering table/);
  });
});
