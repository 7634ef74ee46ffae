// The one schema of smr's configuration: the config file, the values flags take (durations,
// sizes, rates, HOST:PORT, globs) and the connection records a source keeps. zod is imported here
// only; the rest of src/config turns its issues into messages and its JSON Schema into the sample
// file `smr init` writes and the config section of docs/CONFIG.md.
import { z } from 'zod';
import { TEXT_PARSERS, textProblem } from './values.js';

/** One thing wrong with a value, at a key path, in words a user can act on. */
export interface ConfigIssue {
  path: Array<string | number>;
  message: string;
  /** For an unknown key: the key, and the keys that would have been valid there. */
  unknownKey?: { key: string; known: string[] };
}

/** Validation's answer: the typed value, or every issue found. */
export type Checked<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** A text value checked by one of the parsers of values.ts (they throw SmrError with a hint). */
function parsedText(parse: (t: string) => unknown): z.ZodString {
  return z.string().superRefine((text, ctx) => {
    const problem = textProblem(parse, text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const path = z.string().min(1, 'must not be empty');

/** Value types shared by the config file, flags and connection records. */
export const VALUE_TYPES = {
  duration: parsedText(TEXT_PARSERS.duration),
  size: parsedText(TEXT_PARSERS.size),
  rate: parsedText(TEXT_PARSERS.rate),
  hostPort: parsedText(TEXT_PARSERS.hostPort),
  path,
  glob: z
    .string()
    .min(1, 'a pattern must not be empty')
    .refine((g) => !g.includes('\0'), 'a pattern must not hold a NUL byte'),
} as const;

/** The kinds of value a flag may be checked as. */
export type ValueKind = keyof typeof VALUE_TYPES;

const targetSection = z
  .strictObject({
    listen: VALUE_TYPES.hostPort.optional().meta({
      description: 'Address the target listens on (port 0 picks a free one).',
      examples: ['0.0.0.0:6320'],
      default: '0.0.0.0:6320',
    }),
    root: path.optional().meta({
      description: 'Every replica lives under this directory.',
      examples: ['/srv/replica'],
    }),
    allowTasks: z
      .boolean()
      .optional()
      .meta({
        description: 'Run tasks sources queue (true or false, unquoted). Needs tasksDir.',
        examples: [false],
        default: false,
      }),
    tasksDir: path.optional().meta({
      description: 'The only programs tasks may run: files directly in this directory.',
      examples: ['/etc/smr/tasks'],
    }),
  })
  .meta({ description: 'Defaults of `smr target start`; its flags override them.' });

const sourceSection = z
  .strictObject({
    queueLimit: VALUE_TYPES.size.optional().meta({
      description:
        "Default bound on each connection's queue (`connect --queue-limit`): past it capture stops and the target is remirrored by itself. Default: 1GiB, or a tenth of the free space if less.",
      examples: ['2GiB'],
    }),
    tasksDir: path.optional().meta({
      description:
        'Programs `queue` and `transmit` tasks may run on the source (default: STATE_DIR/tasks).',
      examples: ['/etc/smr/source-tasks'],
    }),
  })
  .meta({ description: 'Defaults of `smr source start`; its flags override them.' });

/** The config file (.smrrc.yaml, .smrrc.json, smr.config.js, ... or --config FILE). */
export const configSchema = z
  .strictObject({
    stateDir: path.optional().meta({
      description:
        'Where daemons keep queues and state, and where verbs find the daemon to talk to. ' +
        '--state-dir and SMR_STATE_DIR override it.',
      examples: ['/var/lib/smr'],
    }),
    keyFile: path.optional().meta({
      description: 'The shared key file (create it with `smr key generate --out FILE`).',
      examples: ['/etc/smr/key'],
    }),
    source: sourceSection.optional(),
    target: targetSection.optional(),
  })
  .meta({ description: 'smr configuration. Flags and SMR_STATE_DIR override these settings.' });

/** Settings a config file may hold; flags and environment override them. */
export type SmrConfig = z.infer<typeof configSchema>;

/**
 * A connection record (STATE_DIR/connections/NAME/connection.json). Written by smr itself, so
 * keys this version does not know are kept, not refused: a newer smr may have added them.
 */
export const connectionRecordSchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'bad connection name'),
  to: VALUE_TYPES.hostPort,
  path,
  targetPath: path,
  include: z.array(VALUE_TYPES.glob),
  exclude: z.array(VALUE_TYPES.glob),
  mirror: z.enum(['full', 'diff', 'checksum', 'none']),
  replicate: z.boolean(),
  transmit: z.enum(['started', 'paused', 'stopped']),
  keyFile: path.nullable(),
  insecureNoTls: z.boolean().optional(),
  compress: z.enum(['zstd', 'lz4', 'none']).optional(),
  noOwner: z.boolean().optional(),
  noXattrs: z.boolean().optional(),
  noAcls: z.boolean().optional(),
  noHardLinks: z.boolean().optional(),
  watcher: z.enum(['native', 'chokidar']).optional(),
  consistency: z.enum(['file', 'crash']).optional(),
  bandwidth: z.number().int().positive().nullable(),
  queueLimit: z.number().int().positive().nullable().optional(),
  epoch: z.number().int().positive(),
  remirrorRequired: z.boolean(),
  createdAt: z.string(),
});

/** A connection record as validated. */
export type ConnectionRecord = z.infer<typeof connectionRecordSchema>;

function describeType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a section';
  return JSON.stringify(input);
}

function keysAt(schema: z.ZodType, at: Array<string | number>): string[] {
  let s: unknown = schema;
  for (const k of at) {
    s = unwrap(s);
    s = (s as { shape?: Record<string, unknown> }).shape?.[String(k)];
  }
  const shape = (unwrap(s) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { unwrap?: () => unknown } | undefined;
  while (cur && typeof cur.unwrap === 'function' && !('shape' in cur)) cur = cur.unwrap() as never;
  return cur;
}

function issuesOf(schema: z.ZodType, error: z.ZodError, input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const i of error.issues) {
    const at = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys)
        out.push({
          path: [...at, key],
          message: 'unknown setting',
          unknownKey: { key, known: keysAt(schema, at) },
        });
      continue;
    }
    let value: unknown = input;
    for (const k of at) value = (value as Record<string | number, unknown> | undefined)?.[k];
    if (i.code === 'invalid_type') {
      const want = i.expected === 'boolean' ? 'true or false, unquoted' : `a ${i.expected}`;
      const what = i.expected === 'object' ? 'a section of settings' : want;
      out.push({ path: at, message: `must be ${what}, not ${describeType(value)}` });
    } else out.push({ path: at, message: i.message });
  }
  return out;
}

/** Checks `input` against `schema`, turning zod's issues into ConfigIssues. */
export function check<T>(schema: z.ZodType<T>, input: unknown): Checked<T> {
  const r = schema.safeParse(input);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, issues: issuesOf(schema, r.error, input) };
}

/** Checks one flag's value as a kind of VALUE_TYPES; the message of its first issue, or null. */
export function checkValue(kind: ValueKind, value: unknown): string | null {
  const r = (VALUE_TYPES[kind] as z.ZodType).safeParse(value);
  return r.success ? null : (issuesOf(VALUE_TYPES[kind], r.error, value)[0]?.message ?? 'invalid');
}

/** The config file's JSON Schema (descriptions, examples and defaults included). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
}
