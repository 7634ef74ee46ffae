// Text generated from the config schema, so what `smr init` writes and what docs/CONFIG.md says
// cannot drift from what the loader accepts.
import { configJsonSchema } from './schema.js';

interface Node {
  type?: string;
  description?: string;
  examples?: unknown[];
  default?: unknown;
  properties?: Record<string, Node>;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function yamlValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function sampleLines(props: Record<string, Node>, indent: string): string[] {
  const out: string[] = [];
  for (const [key, node] of Object.entries(props)) {
    const text = `${node.description ?? ''}${node.default !== undefined ? ` Default: ${yamlValue(node.default)}.` : ''}`;
    if (indent === '') out.push('');
    for (const l of wrap(text, 96 - indent.length))
      out.push(`# ${indent}${indent ? '# ' : ''}${l}`);
    if (node.properties) {
      out.push(`# ${indent}${key}:`);
      out.push(...sampleLines(node.properties, indent + '  '));
    } else {
      out.push(`# ${indent}${key}: ${yamlValue(node.examples?.[0] ?? node.default ?? '')}`);
    }
  }
  return out;
}

/** The commented config file `smr init` writes: every setting, described, with an example. */
export function sampleConfig(): string {
  const root = configJsonSchema() as Node;
  return [
    `# ${root.description ?? 'smr configuration'}`,
    '# Every setting is optional: remove the "# " in front of a key (and of its section) to use it.',
    '# YAML 1.2: write booleans as true or false, unquoted.',
    ...sampleLines(root.properties ?? {}, ''),
    '',
  ].join('\n');
}

function docRows(props: Record<string, Node>, prefix: string): string[] {
  return Object.entries(props).flatMap(([key, node]) => {
    const name = prefix + key;
    if (node.properties) return docRows(node.properties, `${name}.`);
    const example = node.examples?.[0];
    const type = node.type === 'boolean' ? 'true/false' : (node.type ?? '');
    const cells = [
      `\`${name}\``,
      type,
      node.default === undefined ? '' : `\`${yamlValue(node.default)}\``,
      example === undefined ? '' : `\`${yamlValue(example)}\``,
      (node.description ?? '').replace(/\|/g, '\\|'),
    ];
    return [`| ${cells.join(' | ')} |`];
  });
}

/** The settings table of docs/CONFIG.md. */
export function configReference(): string {
  const root = configJsonSchema() as Node;
  return [
    '| setting | type | default | example | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...docRows(root.properties ?? {}, ''),
  ].join('\n');
}
