// Operations: what the source queues and the target applies (docs/PROTOCOL.md, "Op kinds"). The
// source appends the wire form to its journal; the target gets the checked, named form from
// decodeOp. Tuples exist only on the wire: this module is the one place that reads them.
import { MAX_BODY_BYTES } from './limits.js';
import {
  bool,
  mtime,
  int,
  isObject,
  list,
  mode,
  obj,
  oneOf,
  refuse,
  relPath,
  sha256,
  text,
  type Check,
} from './check.js';
import { taskMarker, type TaskMarker } from './tasks.js';
import { wireAttrs, type WireAttrs } from './attrs.js';
import { filesBytes, filesMeta, type FilesMeta, type WireFilesMeta } from './files-op.js';

/** Ranges or delta instructions one op may carry (a part has at most 20,000 of them). */
export const MAX_OP_ITEMS = 100_000;

/** How a whole-file part or the last part of a transfer ends the file. */
export type FileEnd = {
  end?: boolean;
  size?: number;
  mode?: number;
  mtime?: number;
  sha256?: string;
  /** Owner, ns mtime, xattrs, ACLs (protocol/attrs.ts), set after the mode. */
  a?: WireAttrs;
};

/** One part of a whole file: the first part's seq names the transfer (`tx` of later parts). */
export type PutMeta = FileEnd & { p: string; off?: number; first?: boolean; tx?: number };

/** A byte range of a file, as named fields. */
export type ByteSpan = { offset: number; length: number };

/** Changed blocks written in place; the body holds the ranges' bytes in order. */
export type WriteMeta = FileEnd & { p: string; ranges: ByteSpan[] };

/** One delta instruction: copy from the target's basis, or literal bytes taken from the body. */
export type DeltaOp =
  | { op: 'copy'; srcOffset: number; length: number; dstOffset: number }
  | { op: 'literal'; dstOffset: number; length: number };

/** One part of a delta rebuild (docs/DELTA.md). */
export type DeltaMeta = FileEnd & { p: string; first?: boolean; tx?: number; ops: DeltaOp[] };

/** The special entries `mknod` creates. */
export type NodeKind = 'fifo' | 'socket' | 'char' | 'block';

/** A fifo, socket or device node (devices with their [major, minor]). */
export type NodeMeta = { p: string; type: NodeKind; mode: number; rdev?: number[]; a?: WireAttrs };

/** An operation as the target applies it: kind and checked, named fields. */
export type Op =
  | { kind: 'put'; meta: PutMeta }
  | { kind: 'files'; meta: FilesMeta }
  | { kind: 'write'; meta: WriteMeta }
  | { kind: 'delta'; meta: DeltaMeta }
  | { kind: 'mkdir'; meta: { p: string; mode?: number; a?: WireAttrs } }
  | { kind: 'delete'; meta: { p: string } }
  | { kind: 'rmdir'; meta: { p: string } }
  | { kind: 'rename'; meta: { from: string; to: string } }
  | { kind: 'attr'; meta: { p: string; mode?: number; mtime?: number; a?: WireAttrs } }
  | { kind: 'symlink'; meta: { p: string; target: string; mtime?: number; a?: WireAttrs } }
  | { kind: 'link'; meta: { p: string; from: string } }
  | { kind: 'mknod'; meta: NodeMeta }
  | { kind: 'task'; meta: TaskMarker }
  | { kind: 'mark'; meta: Record<string, unknown> };

/** Every operation kind. */
export type OpKind = Op['kind'];

/** A range on the wire: [offset, length]. */
export type WireSpan = [number, number];
/** A delta instruction on the wire: ['c', srcOffset, length, dstOffset] or ['l', dstOffset, length]. */
export type WireDeltaOp = ['c', number, number, number] | ['l', number, number];

/** An operation as the source queues it (and sends it): tuples where the wire has them. */
export type WireOp =
  | Exclude<Op, { kind: 'write' | 'delta' | 'files' }>
  | { kind: 'files'; meta: WireFilesMeta }
  | { kind: 'write'; meta: FileEnd & { p: string; ranges: WireSpan[] } }
  | {
      kind: 'delta';
      meta: FileEnd & { p: string; first?: boolean; tx?: number; ops: WireDeltaOp[] };
    };

/** The wire form of one delta instruction. */
export function wireDeltaOp(op: DeltaOp): WireDeltaOp {
  return op.op === 'copy'
    ? ['c', op.srcOffset, op.length, op.dstOffset]
    : ['l', op.dstOffset, op.length];
}

const fileEnd = {
  end: bool,
  size: int(),
  mode,
  mtime,
  sha256,
  a: wireAttrs,
};

const span: Check<ByteSpan> = (v, where) => {
  if (!Array.isArray(v) || v.length !== 2) return refuse(where, 'an [offset, length] pair', v);
  return {
    offset: int()(v[0], `${where}[0]`),
    length: int(0, MAX_BODY_BYTES)(v[1], `${where}[1]`),
  };
};

/** Checks one delta instruction's wire tuple (ops, and the restore's rdelta replies). */
export const deltaOp: Check<DeltaOp> = (v, where) => {
  if (Array.isArray(v) && v[0] === 'l' && v.length === 3)
    return {
      op: 'literal',
      dstOffset: int()(v[1], `${where}[1]`),
      length: int(0, MAX_BODY_BYTES)(v[2], `${where}[2]`),
    };
  if (Array.isArray(v) && v[0] === 'c' && (v.length === 3 || v.length === 4))
    return {
      op: 'copy',
      srcOffset: int()(v[1], `${where}[1]`),
      length: int()(v[2], `${where}[2]`),
      dstOffset: v.length === 4 ? int()(v[3], `${where}[3]`) : 0,
    };
  return refuse(where, `['c', src, length, dst] or ['l', dst, length]`, v);
};

const p = { p: relPath };
const metaOf: { [K in OpKind]: Check<Extract<Op, { kind: K }>['meta']> } = {
  put: obj(p, { ...fileEnd, off: int(), first: bool, tx: int() }),
  files: filesMeta,
  write: obj({ ...p, ranges: list(span, MAX_OP_ITEMS) }, fileEnd),
  delta: obj({ ...p, ops: list(deltaOp, MAX_OP_ITEMS) }, { ...fileEnd, first: bool, tx: int() }),
  mkdir: obj(p, { mode, a: wireAttrs }),
  delete: obj(p),
  rmdir: obj(p),
  rename: obj({ from: relPath, to: relPath }),
  attr: obj(p, { mode, mtime, a: wireAttrs }),
  symlink: obj({ ...p, target: text() }, { mtime, a: wireAttrs }),
  link: obj({ ...p, from: relPath }),
  mknod: obj(
    { ...p, type: oneOf('fifo', 'socket', 'char', 'block'), mode },
    { rdev: list(int(0, 0xffffffff), 2), a: wireAttrs },
  ),
  task: taskMarker,
  mark: (v, where) => (isObject(v) ? { ...v } : refuse(where, 'an object', v)),
};

function isKind(k: unknown): k is OpKind {
  return typeof k === 'string' && Object.hasOwn(metaOf, k);
}

/** Checks one operation's kind and meta, and the body against what the meta says it carries. */
export function decodeOp(kind: unknown, meta: unknown, body: Buffer): Op {
  if (!isKind(kind)) return refuse('op kind', 'a known operation kind', kind);
  const op = { kind, meta: metaOf[kind](meta, `${kind} meta`) } as Op;
  const carried = bodyBytes(op);
  if (carried > body.length || (op.kind === 'files' && carried !== body.length))
    refuse(`${kind} meta`, `within the ${body.length} body bytes`, `${carried} bytes`);
  return op;
}

/** Body bytes an op's meta says it carries (put data is whatever the body holds). */
function bodyBytes(op: Op): number {
  if (op.kind === 'files') return filesBytes(op.meta);
  if (op.kind === 'write') return op.meta.ranges.reduce((n, r) => n + r.length, 0);
  if (op.kind === 'delta')
    return op.meta.ops.reduce((n, o) => n + (o.op === 'literal' ? o.length : 0), 0);
  return 0;
}
