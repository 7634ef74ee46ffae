// Validating a connection record a source keeps (connections/NAME/connection.json). Apart from
// config.ts so a source's start, which checks every record, does not load the YAML parser that
// only a config file needs (yaml was ~0.1 s of the start's CPU before a restart's walk began).
import { SmrError } from '../shared/errors.js';
import {
  check,
  connectionRecordSchema,
  type ConfigIssue,
  type ConnectionRecord,
} from './schema.js';
import { closest } from './suggest.js';

/** Writes a key path the way a user would: target.listen, include[2]. */
export function keyPath(at: Array<string | number>): string {
  return at.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');
}

/** One issue as a line, after `where` (file, and line:col when known): key.path: what is wrong. */
export function issueLine(where: string, i: ConfigIssue): string {
  if (!i.unknownKey) return `${where}: "${keyPath(i.path)}" ${i.message}`;
  const { key, known } = i.unknownKey;
  const guess = closest(key, known);
  const hint = guess
    ? `did you mean "${keyPath([...i.path.slice(0, -1), guess])}"?`
    : `known here: ${known.join(', ')}`;
  return `${where}: unknown setting "${keyPath(i.path)}"; ${hint}`;
}

/** Validates a connection record read from `file`; SmrError('config') naming every bad key. */
export function validateConnectionRecord(value: unknown, file: string): ConnectionRecord {
  const r = check(connectionRecordSchema, value);
  if (r.ok) return r.value;
  const lines = r.issues.slice(0, 5).map((i) => issueLine(file, i));
  throw new SmrError(
    'config',
    `connection record ${lines.join('; ')}`,
    'restore it from a backup, or remove its directory and connect again',
  );
}
