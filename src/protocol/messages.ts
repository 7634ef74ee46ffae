// Message type codes and the header of each message, as sent (WireHeaders) and as received after
// the one validating decoder (Headers). docs/PROTOCOL.md is the byte-level reference.
import type { ListEntry, WireListItem } from './listing.js';
import type { Op } from './ops.js';
import type { ReplyHeader, TargetRequest, WireReplyHeader } from './requests.js';
import type { TaskReport } from './tasks.js';

/** Frame type codes (one byte on the wire). Never renumber: add new codes instead. */
export const MsgType = {
  HELLO: 1, // client -> server: client nonce
  CHALLENGE: 2, // server -> client: server nonce + server proof
  AUTH: 3, // client -> server: client proof
  WELCOME: 4, // server -> client: authenticated
  REFUSED: 5, // either way: refusal with a code, then close
  OPEN: 10, // source -> target: open (or probe) a connection's replica
  OPENED: 11, // target -> source: accepted; the durable applied seq
  OP: 12, // source -> target: one queued operation
  ACK: 13, // target -> source: cumulative, durable applied seq
  NEED: 14, // target -> source: a file must be resent whole
  LIST: 15, // source -> target: list the replica
  LIST_ITEMS: 16, // target -> source: a batch of replica entries
  REQUEST: 17, // source -> target: generic request (signatures, ...)
  REPLY: 18, // target -> source: reply to REQUEST
  EVENT: 19, // target -> source: task results and other notices
  PING: 20,
  PONG: 21,
  FAULT: 22, // target -> source: applying failed (disk full, read-only, I/O error), then close
} as const;

/** One frame type code. */
export type MsgTypeCode = (typeof MsgType)[keyof typeof MsgType];

/** What OPEN asks of the target. */
export type OpenHeader = {
  connection: string;
  targetPath: string;
  epoch: number;
  sourceId: string;
  probe?: boolean;
};

/** A refusal: an error code (auth, path-refused, path-busy, protocol, ...) and what happened. */
export type RefusedHeader = { code: string; message: string };

/**
 * Why the target stopped applying: the system's error code (ENOSPC, EDQUOT, EROFS, EIO, or an smr
 * code), a one-line message that says what to do, and the seq that could not be made durable.
 */
export type FaultHeader = { code: string; message: string; seq: number };

// The handshake's own checks (handshake.ts) judge its fields; the decoder checks their types.
type Empty = Record<never, never>;
type HandshakeHeaders = {
  [MsgType.HELLO]: { nonce?: string; compress?: string[] };
  [MsgType.CHALLENGE]: { nonce?: string; auth?: string; proof?: string | null };
  [MsgType.AUTH]: { proof?: string | null };
  [MsgType.WELCOME]: { compress?: string };
};

/** Headers that look the same on the wire and after decoding. */
type CommonHeaders = HandshakeHeaders & {
  [MsgType.REFUSED]: RefusedHeader;
  [MsgType.OPEN]: OpenHeader;
  [MsgType.OPENED]: { appliedSeq: number; epoch?: number; probe?: boolean };
  /**
   * `refused`: what the target could not do since its last ACK, by attribute or `name`; `names`:
   * the paths among them whose names it could not create (at most 256).
   */
  [MsgType.ACK]: { seq: number; refused?: Record<string, number>; names?: string[] };
  [MsgType.NEED]: { p: string; seq: number };
  /** `from`: list a snapshot of the replica instead (a restore's; restore-requests.ts). */
  [MsgType.LIST]: { reqId: number; from?: string; specials?: boolean };
  [MsgType.REQUEST]: { reqId: number } & TargetRequest;
  [MsgType.EVENT]: TaskReport;
  [MsgType.PING]: Empty;
  [MsgType.PONG]: Empty;
  [MsgType.FAULT]: FaultHeader;
};

/** The end of a listing: `seq` says which applied seq it describes, `error` why it failed. */
type ListEnd = { reqId: number; done: boolean; error?: string; seq?: number };

/** Every header as a sender writes it. OP carries a journal record's kind and meta as queued. */
export type WireHeaders = CommonHeaders & {
  [MsgType.OP]: { seq: number; kind: string; meta: object };
  [MsgType.LIST_ITEMS]: ListEnd & { items: WireListItem[] };
  [MsgType.REPLY]: WireReplyHeader;
};

/** Every header as the receiver gets it from the decoder: checked, with named fields. */
export type Headers = CommonHeaders & {
  [MsgType.OP]: { seq: number } & Op;
  [MsgType.LIST_ITEMS]: ListEnd & { items: ListEntry[] };
  [MsgType.REPLY]: ReplyHeader;
};

/** A decoded frame of one type. */
export type FrameOf<T extends MsgTypeCode> = { type: T; header: Headers[T]; body: Buffer };

/** A decoded frame: type, checked header, raw body. */
export type Frame = { [T in MsgTypeCode]: FrameOf<T> }[MsgTypeCode];

/** True when `f` is of type `type` (narrows it). */
export function frameIs<T extends MsgTypeCode>(f: Frame, type: T): f is FrameOf<T> & Frame {
  return f.type === type;
}
