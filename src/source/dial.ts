// Reaching a target: TCP connect, handshake, OPEN. Used by the link and by `connect`'s probe.
import net from 'node:net';
import { SmrError } from '../shared/errors.js';
import { Peer } from '../protocol/peer.js';
import { clientHandshake } from '../protocol/handshake.js';
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

/** Connects, authenticates and opens; returns the peer and the target's durable applied seq. */
export async function dial(
  to: string,
  key: Buffer | null,
  open: OpenRequest,
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
  const peer = new Peer(socket);
  try {
    await clientHandshake(peer, key);
    await peer.send(MsgType.OPEN, open);
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
    if (err instanceof SmrError && err.code === 'timeout') {
      throw new SmrError(
        'unreachable',
        `target ${to} did not complete the handshake`,
        'is that port an smr target?',
      );
    }
    throw err;
  }
}
