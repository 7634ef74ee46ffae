// verify's attribute comparison: the source entry's owner, ns mtime, xattrs and ACLs against the
// stamp the target listed for it, one difference per attribute that differs.
import type { Difference } from '../control/replies.js';
import type { Stats } from 'node:fs';
import type { ListEntry } from '../protocol/listing.js';
import type { EntryAttrs } from './entry-attrs.js';
import { lstatOrNull } from '../shared/fsutil.js';
import { knownType } from './entry-type.js';
import type { Listed, MirrorHost } from './mirror-steps.js';
import { knownIs } from './known.js';

/**
 * The attribute differences of `rel`, or null when they cannot be told (an older target lists
 * no stamps, or the entry vanished): the caller then compares ms mtimes as before.
 */
export function attrDifferences(attrs: EntryAttrs, rel: string, t: ListEntry): Difference[] | null {
  if (t.attrs === undefined) return null;
  const mine = attrs.stamp(rel);
  if (mine === null) return null;
  const [a, b] = [mine.split(':'), t.attrs.split(':')];
  return attrs.differing(mine, t.attrs).map((kind) => {
    if (kind === 'owner')
      return { path: rel, kind, source: `${a[0]}:${a[1]}`, target: `${b[0]}:${b[1]}` };
    if (kind === 'mtime')
      return {
        path: rel,
        kind,
        source: nsText(a[2]),
        target: nsText(b[2]),
        ...(t.type === 'file' ? { fileMtime: true } : {}),
      };
    const i = kind === 'xattrs' ? 3 : 4;
    return { path: rel, kind, source: a[i] || 'none', target: b[i] || 'none' };
  });
}

/** An ns time as ISO 8601 with all nine digits. */
function nsText(ns: string | undefined): string {
  const n = BigInt(ns ?? '0');
  const sec = n / 1_000_000_000n - (n % 1_000_000_000n < 0n ? 1n : 0n);
  const frac = n - sec * 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  return `${iso}.${frac.toString().padStart(9, '0')}Z`;
}

/** Differences `verify --fix` repairs with an `attr` op alone, without data. */
const ATTR_ONLY = new Set<Difference['kind']>(['mode', 'owner', 'xattrs', 'acl', 'mtime']);

/**
 * Whether one path's differences are attributes only. In diff mode a file's different mtime may
 * hide different content (its blocks were not compared), so that file is resent instead.
 */
export function attributesOnly(diffs: readonly Difference[], checksum: boolean): boolean {
  if (!diffs.every((d) => ATTR_ONLY.has(d.kind))) return false;
  return checksum || !diffs.some((d) => d.kind === 'mtime' && d.fileMtime === true);
}

/** Sends the attributes of `rel` as they are on disk now (an `attr` op, no data). */
export async function resendAttrs(host: MirrorHost, rel: string): Promise<void> {
  const st = lstatOrNull(host.abs(rel));
  const type = st ? knownType(st) : undefined;
  if (!st || !type) return host.resend(rel);
  const { ledger } = host;
  const mode = type === 'symlink' ? undefined : st.mode & 0o7777;
  await ledger.emit({ kind: 'attr', meta: mode === undefined ? { p: rel } : { p: rel, mode } });
  // The index learns the attributes sent only if it already describes this entry as it is.
  const k = ledger.get(rel);
  if (k && !k.unsure && knownIs(k, st, type))
    ledger.record(rel, st, type, { link: k.link, blocks: 'keep' });
}

/**
 * The target's copy matches in type and content: when its owner, ns mtime, xattrs or ACLs differ
 * (its listed stamp), only the attributes are sent. Returns whether an `attr` op was queued.
 */
export async function fixListedAttrs(
  host: MirrorHost,
  rel: string,
  st: Pick<Stats, 'mode' | 'isSymbolicLink'>,
  listed: Listed | undefined,
): Promise<boolean> {
  const { ledger } = host;
  if (listed?.attrs === undefined) return false;
  const mine = ledger.attrs.stamp(rel);
  if (mine === null || ledger.attrs.same(mine, listed.attrs)) return false;
  const mode = st.isSymbolicLink() ? undefined : st.mode & 0o7777;
  await ledger.emit({ kind: 'attr', meta: mode === undefined ? { p: rel } : { p: rel, mode } });
  return true;
}
