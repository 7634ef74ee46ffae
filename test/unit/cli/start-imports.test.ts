// What a CLI call loads before it acts: every call pays for its static imports (users' scripts as
// much as the e2e tests, which spawn smr a few thousand times). These are the heavy modules a verb
// that does not use them must reach only through a dynamic import().
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../../src');

/** Static, value-level imports of one file: relative ones as src paths, packages by name. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const st of sf.statements) {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly) spec = st.moduleSpecifier;
    if (ts.isExportDeclaration(st) && !st.isTypeOnly) spec = st.moduleSpecifier;
    if (!spec || !ts.isStringLiteral(spec)) continue;
    const s = spec.text;
    out.push(s.startsWith('.') ? path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')) : s);
  }
  return out;
}

/** Everything `entry` (a path below src/) loads statically: src paths relative to src/, packages. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(SRC, entry)];
  while (todo.length) {
    const f = todo.pop() as string;
    const key = path.isAbsolute(f) ? path.relative(SRC, f) : f;
    if (seen.has(key)) continue;
    seen.add(key);
    if (path.isAbsolute(f)) todo.push(...importsOf(f));
  }
  return seen;
}

describe('CLI start-up imports', () => {
  it('main and the client verbs load neither zod, yaml, ora nor the daemons', () => {
    for (const entry of ['cli/main.ts', 'cli/verbs/status.ts', 'cli/verbs/wait.ts']) {
      const got = closure(entry);
      for (const heavy of ['zod', 'yaml', 'ora', 'config/schema.ts', 'source/daemon.ts'])
        expect(got.has(heavy), `${entry} loads ${heavy}`).toBe(false);
      expect(got.has('yargs'), `${entry} should load yargs (sanity check of the walk)`).toBe(
        entry === 'cli/main.ts',
      );
    }
  });

  it('the options flags use, and `target start`, load neither zod nor the source daemon; no daemon loads execa', () => {
    for (const entry of ['cli/options.ts', 'cli/verbs/target.ts']) {
      const got = closure(entry);
      expect(got.has('zod'), `${entry} loads zod`).toBe(false);
      expect(got.has('source/daemon.ts'), `${entry} loads source/daemon`).toBe(false);
    }
    // A fresh source has no connection record to check against the schema.
    expect(closure('cli/verbs/source.ts').has('zod'), 'source start loads zod').toBe(false);
    // execa runs tasks; a daemon loads it with the first one.
    for (const entry of ['cli/verbs/target.ts', 'cli/verbs/source.ts'])
      expect(closure(entry).has('execa'), `${entry} loads execa`).toBe(false);
    expect(closure('cli/verbs/target.ts').has('target/daemon.ts')).toBe(true);
  });

  it("a source's start loads no koffi, and checks its connection records without yaml", () => {
    // A no-change restart reads no attribute beyond lstat: koffi is required with the first call.
    expect(closure('cli/verbs/source.ts').has('koffi'), 'source start loads koffi').toBe(false);
    expect(closure('source/daemon.ts').has('koffi'), 'the source daemon loads koffi').toBe(false);
    // loadConnections imports config/record.ts for every record: the schema, not the YAML parser.
    const record = closure('config/record.ts');
    expect(record.has('yaml'), 'the record check loads yaml').toBe(false);
    expect(record.has('zod'), 'sanity check of the walk').toBe(true);
  });
});
