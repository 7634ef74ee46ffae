// Named limits for everything that crosses the wire; a peer exceeding one is cut off, never trusted.

/** Bytes a frame body may carry (data of one operation record). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Bytes of the JSON header of one frame. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Bytes a whole frame may take after its length prefix (type + header length + header + body). */
export const MAX_FRAME_BYTES = 1 + 4 + MAX_HEADER_BYTES + MAX_BODY_BYTES;
/** Bytes of a relative path inside a replica (UTF-8). */
export const MAX_PATH_BYTES = 4096;
/** Bytes of one path component. */
export const MAX_NAME_BYTES = 255;
/** Milliseconds a source waits for each step of reaching a target (connect, handshake, OPEN). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Milliseconds a target gives a new connection to prove its key (preamble, TLS, proofs), all
 * steps together; then it is dropped (sshd's LoginGraceTime, for a peer with no human in it).
 */
export const PREAUTH_DEADLINE_MS = 5_000;
/**
 * Bytes a target buffers for a connection that has not proven its key: the largest TLS
 * ClientHello it reads, and the largest frame it decodes, before authentication.
 */
export const PREAUTH_BUFFER_BYTES = 8 * 1024;
/** Frames a peer may have queued, unread, before authentication (the handshake needs one). */
export const PREAUTH_MAX_QUEUED_FRAMES = 4;
/** Connections a target lets wait for authentication at once; more are closed on accept. */
export const MAX_PREAUTH_CONNECTIONS = 64;
/** Of those, connections from one address (so one host cannot take every slot). */
export const MAX_PREAUTH_PER_ADDRESS = 16;
/**
 * Milliseconds a target keeps an authenticated session that sends nothing (a source pings every
 * 15 s): a source that vanished, or stalled in the middle of a frame, must not hold its replica.
 */
export const SESSION_IDLE_MS = 90_000;
/** Bytes of data carried by one queued operation record (large files are split into parts). */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * Block size of a `blocks` reply for a file of `size` bytes: 4 KiB, larger for big files so the
 * reply fits one frame. A pure function of the size, so the source can hash its copy at the same
 * block size while the target hashes its own.
 */
export function blocksBlockSize(size: number): number {
  let bs = 4096;
  while (Math.ceil(size / bs) * 8 > MAX_BODY_BYTES / 2) bs *= 2;
  return bs;
}
