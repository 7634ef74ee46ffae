// The one validating decoder: every frame's header is checked here, where it enters, before any
// code acts on it — types, integer ranges, string lengths, path bytes, and that what the header
// says the body holds is there. A bad frame throws SmrError('protocol'); the peer then closes that
// connection (with the reason logged), never the process. Pure functions: a fuzzer can drive them.
import {
  bool,
  int,
  isObject,
  list,
  obj,
  refuse,
  relPath,
  tally,
  text,
  type Check,
} from './check.js';
import { listEntry, MAX_LIST_ITEMS } from './listing.js';
import { MsgType, type Frame, type Headers, type MsgTypeCode } from './messages.js';
import { decodeOp } from './ops.js';
import { replyHeader, targetRequest } from './requests.js';
import { snapshotName } from './restore-requests.js';
import { taskReport } from './tasks.js';

/** Bytes of a nonce, proof or other handshake string (hex of 32 bytes is 64). */
const HANDSHAKE_TEXT = 1024;
const NAME = text(1024);
const hs = text(HANDSHAKE_TEXT);
const nullableHs: Check<string | null> = (v, where) => (v === null ? null : hs(v, where));
const reqId = int(1);
const seq = int(1);
const empty: Check<Record<never, never>> = obj({});
// The checks of the frames that come per op, made once.
const opHeader = obj({ seq });
const ackHeader = obj({ seq: int() }, { refused: tally, names: list(relPath, 256) });

/** Checks the header of each frame type (the body is raw bytes, checked by who reads it). */
const headerOf: { [T in MsgTypeCode]: (h: unknown, body: Buffer) => Headers[T] } = {
  [MsgType.HELLO]: (h) => obj({}, { nonce: hs, compress: list(text(32), 8) })(h, 'HELLO'),
  [MsgType.CHALLENGE]: (h) =>
    obj({}, { nonce: hs, auth: text(32), proof: nullableHs })(h, 'CHALLENGE'),
  [MsgType.AUTH]: (h) => obj({}, { proof: nullableHs })(h, 'AUTH'),
  [MsgType.WELCOME]: (h) => obj({}, { compress: text(32) })(h, 'WELCOME'),
  [MsgType.REFUSED]: (h) => obj({ code: text(64), message: text() })(h, 'REFUSED'),
  [MsgType.OPEN]: (h) =>
    obj({ connection: NAME, targetPath: text(), epoch: int(), sourceId: NAME }, { probe: bool })(
      h,
      'OPEN',
    ),
  [MsgType.OPENED]: (h) => obj({ appliedSeq: int() }, { epoch: int(), probe: bool })(h, 'OPENED'),
  [MsgType.OP]: (h, body) => {
    const { seq: s } = opHeader(h, 'OP');
    const raw = h as { kind?: unknown; meta?: unknown };
    return { seq: s, ...decodeOp(raw.kind, raw.meta, body) };
  },
  [MsgType.ACK]: (h) => ackHeader(h, 'ACK'),
  [MsgType.NEED]: (h) => obj({ p: relPath, seq })(h, 'NEED'),
  [MsgType.LIST]: (h) => obj({ reqId }, { from: snapshotName, specials: bool })(h, 'LIST'),
  [MsgType.LIST_ITEMS]: (h) =>
    obj(
      { reqId, done: bool, items: list(listEntry, MAX_LIST_ITEMS) },
      { error: text(), seq: int() },
    )(h, 'LIST_ITEMS'),
  [MsgType.REQUEST]: (h) => ({ ...obj({ reqId })(h, 'REQUEST'), ...targetRequest(h, 'REQUEST') }),
  [MsgType.REPLY]: (h) => replyHeader(h, 'REPLY'),
  [MsgType.EVENT]: (h) => taskReport(h, 'EVENT'),
  [MsgType.PING]: (h) => empty(h, 'PING'),
  [MsgType.PONG]: (h) => empty(h, 'PONG'),
  [MsgType.FAULT]: (h) => obj({ code: text(64), message: text(), seq: int() })(h, 'FAULT'),
};

function isType(type: number): type is MsgTypeCode {
  return Object.hasOwn(headerOf, type);
}

/** Checks one frame's parsed JSON header against its type; returns the typed frame or throws. */
export function decodeFrame(type: number, header: unknown, body: Buffer): Frame {
  if (!isType(type)) return refuse('frame type', 'a known message type', type);
  if (!isObject(header)) return refuse('frame header', 'a JSON object', header);
  return { type, header: headerOf[type](header, body), body } as Frame;
}
