#!/usr/bin/env node
// The layering check (`npm run layers`): imports between the folders of src/ follow the table in
// docs/ARCHITECTURE.md — source and target never import each other, nothing imports cli — and
// each third-party package is imported (at run time) from exactly one module; type-only imports
// of it are allowed beside that module, in the same folder. Reads imports with the TypeScript
// parser, so multi-line, re-exported, type-only and dynamic imports all count.
// `--table` prints the folder-to-folder imports found, as the markdown table the docs show.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--src DIR` checks another tree laid out like src/ (the layering check's own test does).
const srcArg = process.argv.indexOf('--src');
const SRC = srcArg > 0 ? path.resolve(process.argv[srcArg + 1] ?? '') : path.join(ROOT, 'src');

/** Which folders of src/ each folder may import (besides itself). */
const MAY_IMPORT = {
  shared: [],
  config: ['shared'],
  protocol: ['shared'],
  journal: ['shared'],
  delta: ['shared'],
  index: ['shared'],
  fsmeta: ['shared'],
  tasks: ['shared'],
  schedule: ['shared'],
  control: ['shared'],
  source: [
    'protocol',
    'journal',
    'delta',
    'index',
    'fsmeta',
    'tasks',
    'schedule',
    'control',
    'config',
    'shared',
  ],
  target: ['protocol', 'delta', 'fsmeta', 'tasks', 'config', 'shared'],
  cli: '*',
};

/** Every .ts file under `dir`. */
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** True when an import or export declaration brings in types only. */
function typeOnly(node) {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // `import 'x'` runs the module
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return (
    !clause.name &&
    named !== undefined &&
    ts.isNamedImports(named) &&
    named.elements.length > 0 &&
    named.elements.every((e) => e.isTypeOnly)
  );
}

/** The imports of one file: { spec, typeOnly }. */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = [];
  const visit = (node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      out.push({ spec: node.moduleSpecifier.text, typeOnly: typeOnly(node) });
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      out.push({ spec: node.arguments[0].text, typeOnly: false });
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      out.push({ spec: node.argument.literal.text, typeOnly: true });
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The folder of src/ a file lies in. */
function folderOf(file) {
  return path.relative(SRC, file).split(path.sep)[0];
}

/** A bare specifier's package name (`@scope/name` or `name`), or null for node builtins. */
function packageOf(spec) {
  if (spec.startsWith('node:')) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function check() {
  const problems = [];
  const edges = new Map(); // "from to" -> count
  const runtimeUsers = new Map(); // package -> Set of files
  const typeUsers = new Map();
  for (const file of walk(SRC)) {
    const from = folderOf(file);
    const rel = path.relative(ROOT, file);
    if (!Object.hasOwn(MAY_IMPORT, from)) {
      problems.push(`${rel}: folder src/${from} is not in the layering table (scripts/layers.mjs)`);
      continue;
    }
    for (const { spec, typeOnly: types } of importsOf(file)) {
      if (spec.startsWith('.')) {
        const to = folderOf(path.resolve(path.dirname(file), spec));
        if (to === from) continue;
        edges.set(`${from} ${to}`, (edges.get(`${from} ${to}`) ?? 0) + 1);
        const allowed =
          MAY_IMPORT[from] === '*' ? to !== 'cli' || from === 'cli' : MAY_IMPORT[from].includes(to);
        if (!allowed) problems.push(`${rel}: src/${from} may not import src/${to} ('${spec}')`);
        continue;
      }
      const pkg = packageOf(spec);
      if (!pkg) continue;
      const users = types ? typeUsers : runtimeUsers;
      if (!users.has(pkg)) users.set(pkg, new Set());
      users.get(pkg).add(rel);
    }
  }
  for (const [pkg, files] of runtimeUsers) {
    if (files.size > 1)
      problems.push(
        `${pkg} is imported by ${files.size} modules (${[...files].join(', ')}); keep it in one`,
      );
  }
  for (const [pkg, files] of typeUsers) {
    const owner = [...(runtimeUsers.get(pkg) ?? [])][0];
    for (const f of files) {
      if (!owner)
        problems.push(`${f}: imports types of ${pkg}, which no module imports at run time`);
      else if (path.dirname(f) !== path.dirname(owner))
        problems.push(
          `${f}: imports types of ${pkg} outside ${path.dirname(owner)}, where ${owner} owns it`,
        );
    }
  }
  return { problems, edges, runtimeUsers };
}

/** The folder-to-folder imports as a markdown table. */
function table(edges) {
  const folders = Object.keys(MAY_IMPORT);
  const rows = folders.map((f) => {
    const to = folders.filter((t) => edges.has(`${f} ${t}`));
    return `| \`src/${f}\` | ${to.length ? to.join(', ') : '—'} |`;
  });
  return ['| folder | imports (found) |', '| --- | --- |', ...rows].join('\n');
}

const { problems, edges, runtimeUsers } = check();
if (process.argv.includes('--table')) {
  process.stdout.write(table(edges) + '\n\n');
  for (const [pkg, files] of [...runtimeUsers].sort())
    process.stdout.write(`- ${pkg}: ${[...files].join(', ')}\n`);
}
if (problems.length) {
  process.stderr.write(`layering check: ${problems.length} problem(s)\n`);
  for (const p of problems) process.stderr.write(`  ${p}\n`);
  process.exit(1);
}
process.stdout.write(
  `layering check: ${edges.size} folder imports, ${runtimeUsers.size} packages, all as docs/ARCHITECTURE.md allows\n`,
);
