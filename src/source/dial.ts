// Reaching a target: TCP connect, preamble, TLS, handshake, OPEN. Used by the link and by
// `connect`'s probe.
import net from 'node:net';
import { SmrError } from '../shared/errors.js';
import type { Peer } from '../protocol/peer.js';
import { openChannel } from '../protocol/channel.js';
import { DEFAULT_COMPRESS, type CompressName } from '../protocol/compress.js';
import { HANDSHAKE_TIMEOUT_MS } from '../protocol/limits.js';
import { MsgType } from '../protocol/messages.js';

/** host:port -> parts; throws usage on a malformed address. */
export function parseHostPort(text: string, defaultPort = 6320): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(text.trim());
  const host = m?.[1] ?? '';
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SmrError('usage', `bad address "${text}"`, 'use HOST:PORT, like 127.0.0.1:6320');
  }
  return { host, port };
}

/** What OPEN asks of the target. */
export interface OpenRequest {
  connection: string;
  targetPath: string;
  epoch: number;
  sourceId: string;
  probe?: boolean;
}

/** How a connection's link is secured and compressed (recorded with the connection). */
export interface WireOptions {
  /** TLS 1.3; false only with --insecure-no-tls (the target must say the same). */
  tls: boolean;
  compress: CompressName;
}

/** A connection recorded before these options existed: TLS, default compression. */
export const DEFAULT_WIRE: WireOptions = { tls: true, compress: DEFAULT_COMPRESS };

/** A recorded connection's wire options (`ctx.insecureNoTls`: `source start --insecure-no-tls`). */
export function wireOptions(
  cfg: { insecureNoTls?: boolean; compress?: CompressName },
  ctx: { insecureNoTls: boolean },
): WireOptions {
  return {
    tls: !(cfg.insecureNoTls === true || ctx.insecureNoTls),
    compress: cfg.compress ?? DEFAULT_COMPRESS,
  };
}

/** Connects, authenticates and opens; returns the peer and the target's durable applied seq. */
export async function dial(
  to: string,
  key: Buffer | null,
  open: OpenRequest,
  wire: WireOptions = DEFAULT_WIRE,
): Promise<{ peer: Peer; appliedSeq: number }> {
  const { host, port } = parseHostPort(to);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new SmrError(
          'unreachable',
          `target ${to} did not answer within ${HANDSHAKE_TIMEOUT_MS} ms`,
          'check the address and that `smr target start` runs there',
        ),
      );
    }, HANDSHAKE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new SmrError(
          'unreachable',
          `cannot reach target ${to}: ${err.code ?? err.message}`,
          'check the address and that `smr target start` runs there',
        ),
      );
    });
  });
  const peer = await secure(socket, to, key, wire);
  try {
    const { connection, targetPath, epoch, sourceId, probe } = open;
    await peer.send(MsgType.OPEN, { connection, targetPath, epoch, sourceId, probe });
    const f = await peer.recv(HANDSHAKE_TIMEOUT_MS);
    if (f.type === MsgType.REFUSED) {
      const code = String(f.header.code);
      const known = ['path-refused', 'path-busy', 'auth', 'version-mismatch'];
      throw new SmrError(
        (known.includes(code) ? code : 'protocol') as 'protocol',
        String(f.header.message ?? 'refused by the target'),
      );
    }
    if (f.type !== MsgType.OPENED)
      throw new SmrError('protocol', `expected OPENED, got frame type ${f.type}`);
    return { peer, appliedSeq: Number(f.header.appliedSeq ?? 0) };
  } catch (err) {
    peer.close();
    throw unreachableOnTimeout(err, to);
  }
}

/** Preamble, TLS and proofs on a connected socket, within HANDSHAKE_TIMEOUT_MS. */
async function secure(
  socket: net.Socket,
  to: string,
  key: Buffer | null,
  wire: WireOptions,
): Promise<Peer> {
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    socket.destroy();
  }, HANDSHAKE_TIMEOUT_MS);
  try {
    return await openChannel(socket, { key, tls: wire.tls, compress: wire.compress });
  } catch (err) {
    throw unreachableOnTimeout(late ? new SmrError('timeout', 'handshake') : err, to);
  } finally {
    clearTimeout(timer);
  }
}

function unreachableOnTimeout(err: unknown, to: string): unknown {
  if (err instanceof SmrError && err.code === 'timeout') {
    return new SmrError(
      'unreachable',
      `target ${to} did not complete the handshake`,
      'is that port an smr target?',
    );
  }
  return err;
}
