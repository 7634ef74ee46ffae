// Finding, parsing and validating smr's config file (cosmiconfig finds .smrrc, .smrrc.json,
// .smrrc.yaml, smr.config.js, ... or --config FILE). JSON and YAML are parsed here with `yaml`, which
// keeps every node's position: a syntax error and a bad value both name file, line and column.
// Returns data or throws SmrError; never prints. Finding the file is load.ts's part: this module
// (zod and yaml with it) is loaded only once there is a file to parse or a record to check.
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { SmrError } from '../shared/errors.js';
import { check, configSchema, type ConfigIssue, type SmrConfig } from './schema.js';
import { issueLine } from './record.js';

export type { ConnectionRecord, SmrConfig } from './schema.js';
export { loadConfig } from './load.js';
export { keyPath, validateConnectionRecord } from './record.js';

/** A parsed JSON/YAML file and what maps its nodes back to lines and columns. */
export interface Parsed {
  doc: Document;
  lines: LineCounter;
  /** Where smr's settings sit in the document (['smr'] in package.json). */
  base: string[];
}

/** Parses JSON or YAML text (YAML 1.2: `no` is a string, not false); SmrError with line:col. */
export function parseText(file: string, text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = lines.linePos(err.pos[0]);
    const what = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '');
    throw new SmrError(
      'config',
      `${file}:${line}:${col}: syntax error: ${what}`,
      'fix the file, or check it with `smr init --out other.yaml` for a sample',
    );
  }
  const base = path.basename(file) === 'package.json' ? ['smr'] : [];
  return { doc, lines, base };
}

/** Line and column of the node at `at` (the key itself when `key`), as ":line:col", or "". */
function positionOf(p: Parsed, at: Array<string | number>, key: boolean): string {
  let node: unknown = p.doc.contents;
  const full = [...p.base, ...at];
  for (let i = 0; i < full.length; i++) {
    const k = full[i];
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === k);
      if (!pair) break;
      node = key && i === full.length - 1 ? pair.key : pair.value;
    } else if (isSeq(node) && typeof k === 'number') node = node.items[k];
    else break;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return '';
  const { line, col } = p.lines.linePos(range[0]);
  return `:${line}:${col}`;
}

/** One line per issue: file:line:col: key.path: what is wrong (did you mean ...). */
function describeIssue(file: string, parsed: Parsed | undefined, i: ConfigIssue): string {
  return issueLine(`${file}${parsed ? positionOf(parsed, i.path, Boolean(i.unknownKey)) : ''}`, i);
}

/** Validates a loaded config value; throws one SmrError naming every issue. */
export function validateConfig(value: unknown, file: string, parsed?: Parsed): SmrConfig {
  if (value === null || value === undefined) return {};
  const r = check(configSchema, value);
  if (r.ok) return r.value;
  const lines = r.issues.slice(0, 5).map((i) => describeIssue(file, parsed, i));
  const more = r.issues.length > 5 ? ` (and ${r.issues.length - 5} more)` : '';
  throw new SmrError('config', lines.join('; ') + more, 'see docs/CONFIG.md or `smr init`');
}
