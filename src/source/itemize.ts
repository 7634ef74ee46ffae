// The one-line form of a dry run's items, modelled on rsync's --itemize-changes (docs/DRYRUN.md):
// `YXcstpoguax path`, where Y says what happens (`<` data goes to the target, `>` comes from it,
// `c` created or changed without data, `.` attributes only, `*` a message instead of columns),
// X the type, and each later column one attribute that differs (`+` on all of them: created).
import type { DryRunAction, DryRunItem, DryRunResult } from '../control/replies.js';
import { displayPath } from '../fsmeta/index.js';
import type { ListedType } from '../protocol/listing.js';
import { formatBytes } from '../shared/units.js';

/** Which way data goes: `<` to the target (mirror, verify --fix), `>` from it (restore). */
export type Direction = '<' | '>';

/** What one item says, before it has its line. */
export interface ItemFacts {
  path: string;
  type: ListedType;
  action: DryRunAction;
  attrs?: string[];
  bytes?: number;
  reason?: string;
}

// rsync's letters: D a device, S a special file (fifo, socket).
const LETTER: Record<ListedType, DryRunItem['type']> = {
  file: 'f',
  dir: 'd',
  symlink: 'L',
  char: 'D',
  block: 'D',
  fifo: 'S',
  socket: 'S',
};
// Column order after Y and X, as rsync prints them (u, the access time, is never carried).
const COLUMNS: Array<[string, string]> = [
  ['c', 'content'],
  ['s', 'size'],
  ['t', 'mtime'],
  ['p', 'mode'],
  ['o', 'owner'],
  ['g', 'group'],
  ['u', 'atime'],
  ['a', 'acl'],
  ['x', 'xattrs'],
];

/** The 11 characters before the path. */
function code(f: ItemFacts, dir: Direction): string {
  if (f.action === 'delete') return '*deleting  ';
  if (f.action === 'skip') return '*skipping  ';
  const x = LETTER[f.type];
  const data = f.type === 'file' ? dir : 'c';
  if (f.action === 'create') return `${data}${x}+++++++++`;
  const attrs = f.attrs ?? [];
  const has = (a: string): boolean =>
    attrs.includes(a) || (a === 'content' && attrs.includes('link target'));
  const moves = f.type === 'file' ? (f.bytes ?? 0) > 0 : has('content');
  const y = moves ? data : '.';
  return y + x + COLUMNS.map(([c, a]) => (has(a) ? c : '.')).join('');
}

/** One item of a dry run, with its itemized line. */
export function itemize(f: ItemFacts, dir: Direction): DryRunItem {
  const bytes = f.bytes ?? 0;
  const note = f.reason ?? (bytes > 0 ? formatBytes(bytes) : '');
  const line = `${code(f, dir)} ${displayPath(f.path)}${note ? `  (${note})` : ''}`;
  const item: DryRunItem = {
    path: f.path,
    type: LETTER[f.type],
    action: f.action,
    attrs: f.attrs ?? [],
    bytes,
    line,
  };
  if (f.reason !== undefined) item.reason = f.reason;
  return item;
}

/** A dry run's result: items in path order, counted. */
export function dryRunResult(
  r: Omit<DryRunResult, 'dryRun' | 'counts' | 'bytes' | 'items'>,
  items: DryRunItem[],
): DryRunResult {
  const counts = { create: 0, update: 0, delete: 0, skip: 0 };
  let bytes = 0;
  for (const i of items) {
    counts[i.action]++;
    if (i.action === 'create' || i.action === 'update') bytes += i.bytes;
  }
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ...r, dryRun: true, items, counts, bytes };
}
