// Message type codes and header shapes. docs/PROTOCOL.md is the byte-level reference.

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
} as const;

/** A decoded frame: type, parsed JSON header, raw body. */
export interface Frame {
  type: number;
  header: Record<string, unknown>;
  body: Buffer;
}
