// The restore's requests about the replica (docs/PROTOCOL.md, "Restore"): every attribute of some
// entries (`meta`), the delta engine run backwards (`rdelta`: the target holds the file the
// source wants, the source holds the basis) and the snapshots a restore may read instead of the
// replica (`snapshots`, and `from` on `LIST`, `sums`, `meta` and `rdelta`). Read-only on the target.
import { SmrError } from '../shared/errors.js';
import {
  int,
  isObject,
  list,
  mode,
  nullable,
  obj,
  oneOf,
  refuse,
  relPath,
  text,
  type Check,
} from './check.js';
import { letterType, typeLetter, type ListedType, type TypeLetter } from './listing.js';
import { MAX_BODY_BYTES } from './limits.js';

/** Paths one `meta` request may name (a reply may answer fewer: ask again for the rest). */
export const MAX_META_PATHS = 256;
/** Bytes of one `meta` reply's body; entries past it are left for the next request. */
export const META_REPLY_BYTES = MAX_BODY_BYTES - 64 * 1024;
/** Rebuilds one session keeps open at once (the oldest is dropped for a new one). */
export const MAX_RDELTA_BUILDS = 8;
/** Delta instructions one `rdelta` reply carries at most (its header stays well under a frame's). */
export const MAX_RDELTA_OPS = 4096;
/** Snapshot names one `snapshots` reply carries at most (the newest, by name). */
export const MAX_SNAPSHOT_NAMES = 1024;
/** Bytes of one xattr value or ACL on the wire (Linux's own limit is 64 KiB). */
const MAX_ATTR_VALUE = 64 * 1024;

/** The steps of one reverse delta (see docs/PROTOCOL.md). */
export type RdeltaStep = 'start' | 'mid' | 'fine' | 'next' | 'end';

/** The restore's requests, by `op`. `from` names a snapshot of the replica to read instead. */
export type RestoreRequest =
  | { op: 'meta'; paths: string[]; from?: string }
  | { op: 'rdelta'; id: number; step: RdeltaStep; p?: string; from?: string }
  | { op: 'snapshots' };

/**
 * A snapshot's name: one path component of letters, digits, `.`, `_` and `-` (what the shipped
 * snapshot tasks make), never `.` or `..`. Where the target looks for it is its own business.
 */
export const snapshotName: Check<string> = (v, where) =>
  typeof v === 'string' && /^[A-Za-z0-9._-]{1,255}$/.test(v) && v !== '.' && v !== '..'
    ? v
    : refuse(where, 'a snapshot name (letters, digits, ".", "_", "-")', v);

/** Checks of the restore's request ops (requests.ts dispatches to them). */
export const restoreRequestOf = {
  meta: obj(
    { op: oneOf('meta'), paths: list(relPath, MAX_META_PATHS) },
    { from: snapshotName },
  ) as Check<Extract<RestoreRequest, { op: 'meta' }>>,
  rdelta: obj(
    { op: oneOf('rdelta'), id: int(1), step: oneOf('start', 'mid', 'fine', 'next', 'end') },
    { p: relPath, from: snapshotName },
  ) as Check<Extract<RestoreRequest, { op: 'rdelta' }>>,
  snapshots: obj({ op: oneOf('snapshots') }) as Check<Extract<RestoreRequest, { op: 'snapshots' }>>,
};

/** Everything a restore writes for one replica entry, as fsmeta reads it (docs/FIDELITY.md). */
export interface ReplicaMeta {
  type: ListedType;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  /** symlinks only: the target as bytes. */
  linkTarget?: Buffer;
  xattrs: Array<{ name: Buffer; value: Buffer }>;
  acl: { access?: Buffer; default?: Buffer };
}

/** One entry of a `meta` reply on the wire: bytes as base64, the ns mtime as a decimal string. */
export type WireMeta = {
  t: TypeLetter;
  mode: number;
  uid: number;
  gid: number;
  ns: string;
  size: number;
  link?: string;
  x?: Array<[string, string]>;
  aa?: string;
  ad?: string;
};

const b64 =
  (max: number): Check<Buffer> =>
  (v, where) =>
    typeof v === 'string' && v.length <= Math.ceil(max / 3) * 4 && /^[A-Za-z0-9+/]*={0,2}$/.test(v)
      ? Buffer.from(v, 'base64')
      : refuse(where, 'base64 bytes', v);
const ns: Check<bigint> = (v, where) =>
  typeof v === 'string' && /^-?\d{1,20}$/.test(v) ? BigInt(v) : refuse(where, 'a time in ns', v);
const id32 = int(0, 2 ** 32 - 1);
const xattrPair: Check<{ name: Buffer; value: Buffer }> = (v, where) => {
  if (!Array.isArray(v) || v.length !== 2) return refuse(where, 'a [name, value] pair', v);
  return { name: b64(255)(v[0], `${where}[0]`), value: b64(MAX_ATTR_VALUE)(v[1], `${where}[1]`) };
};

/** The wire form of one entry's attributes. */
export function wireMeta(m: ReplicaMeta): WireMeta {
  const w: WireMeta = {
    t: typeLetter(m.type),
    mode: m.mode,
    uid: m.uid,
    gid: m.gid,
    ns: m.mtimeNs.toString(),
    size: m.size,
  };
  if (m.linkTarget) w.link = m.linkTarget.toString('base64');
  if (m.xattrs.length)
    w.x = m.xattrs.map((x) => [x.name.toString('base64'), x.value.toString('base64')]);
  if (m.acl.access) w.aa = m.acl.access.toString('base64');
  if (m.acl.default) w.ad = m.acl.default.toString('base64');
  return w;
}

/** Checks one wire entry and names its fields. */
export const replicaMeta: Check<ReplicaMeta> = (v, where) => {
  if (!isObject(v)) return refuse(where, 'an object', v);
  const t = oneOf('f', 'd', 'l', 'p', 's', 'c', 'b')(v.t, `${where}.t`);
  const m: ReplicaMeta = {
    type: letterType(t) as ListedType,
    mode: mode(v.mode, `${where}.mode`),
    uid: id32(v.uid, `${where}.uid`),
    gid: id32(v.gid, `${where}.gid`),
    mtimeNs: ns(v.ns, `${where}.ns`),
    size: int()(v.size, `${where}.size`),
    xattrs: v.x === undefined ? [] : list(xattrPair, 4096)(v.x, `${where}.x`),
    acl: {},
  };
  if (v.link !== undefined) m.linkTarget = b64(MAX_ATTR_VALUE)(v.link, `${where}.link`);
  if (v.aa !== undefined) m.acl.access = b64(MAX_ATTR_VALUE)(v.aa, `${where}.aa`);
  if (v.ad !== undefined) m.acl.default = b64(MAX_ATTR_VALUE)(v.ad, `${where}.ad`);
  return m;
};

/** A `meta` reply: one entry (null: not on the replica, or of a type not listed) per path answered. */
export function metaReply(body: Buffer, asked: number): Array<ReplicaMeta | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SmrError('protocol', 'meta reply: the body is not JSON');
  }
  const metas = list(nullable(replicaMeta), MAX_META_PATHS)(
    isObject(parsed) ? parsed.metas : undefined,
    'meta reply.metas',
  );
  if (metas.length > asked || (asked > 0 && metas.length === 0))
    throw new SmrError('protocol', `meta reply: ${metas.length} entries for ${asked} paths`);
  return metas;
}

/** A `snapshots` reply: the snapshot names the target found, oldest first. */
export const snapshotNames: Check<string[]> = list(text(255), MAX_SNAPSHOT_NAMES);
