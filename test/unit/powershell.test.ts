// The PowerShell templates are parsed with tree-sitter's PowerShell grammar (pwsh cannot be
// installed here): a syntax error anywhere fails the suite, with its line and column.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { TEMPLATES } from '../helpers/scripts.js';

const require = createRequire(import.meta.url);
const GRAMMAR = path.join(
  path.dirname(require.resolve('tree-sitter-powershell/package.json')),
  'tree-sitter-powershell.wasm',
);

const scripts = readdirSync(TEMPLATES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ps1'))
  .sort();

let parser: Parser;
beforeAll(async () => {
  await Parser.init();
  parser = new Parser();
  parser.setLanguage(await Language.load(GRAMMAR));
});

function parse(text: string): Node {
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree.rootNode;
}

/** Every syntax error in `text`, as "line:column what". */
function syntaxErrors(text: string): string[] {
  const out: string[] = [];
  const walk = (n: Node): void => {
    if (n.isError || n.isMissing) {
      const at = `${n.startPosition.row + 1}:${n.startPosition.column + 1}`;
      out.push(`${at} ${n.isMissing ? `missing ${n.type}` : `unexpected ${n.text.slice(0, 50)}`}`);
      return;
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(parse(text));
  return out;
}

describe('PowerShell templates parse', () => {
  it('there are PowerShell templates to check', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'scripts/quiesce-and-snapshot.ps1',
        'scripts/remirror.ps1',
        'tasks/snapshot-vss.ps1',
      ]),
    );
  });

  it.each(scripts)('%s has no syntax error', (f) => {
    const text = readFileSync(path.join(TEMPLATES, f), 'utf8');
    expect(syntaxErrors(text)).toEqual([]);
    expect(text).toMatch(/\.SYNOPSIS/);
    expect(text).toMatch(/Set-StrictMode/);
  });

  it('the check finds real mistakes (so a pass means something)', () => {
    const broken = [
      'if ($x -eq 1 { "a" }\n', // unclosed condition
      '$a = @(1, 2\nWrite-Host "x"\n', // unclosed array
      'function f {\n  Write-Host "x"\n', // unclosed function body
      'try { 1 } finally\n', // finally without a block
    ];
    for (const b of broken) expect(syntaxErrors(b), JSON.stringify(b)).not.toEqual([]);
  });

  it('quiesce-and-snapshot.ps1 takes the outage-bounding parameters and uses tasks wait', () => {
    const root = parse(
      readFileSync(path.join(TEMPLATES, 'scripts/quiesce-and-snapshot.ps1'), 'utf8'),
    );
    const params = root
      .descendantsOfType('param_block')[0]
      ?.descendantsOfType('script_parameter')
      .map((p) => p?.descendantsOfType('variable')[0]?.text);
    expect(params).toEqual(
      expect.arrayContaining(['$Connection', '$MaxDown', '$RestartAfter', '$WaitTimeout']),
    );
    const functions = root
      .descendantsOfType('function_statement')
      .map((f) => f?.descendantsOfType('function_name')[0]?.text);
    expect(functions).toEqual(expect.arrayContaining(['Wait-Task', 'Restart-TheService']));
    const strings = root.descendantsOfType('string_literal').map((s) => s?.text);
    expect(strings).toEqual(expect.arrayContaining(["'status'", "'tasks'", "'wait'"]));
  });
});
