// Opening a link, on either side: the preamble in the clear, then TLS 1.3 (unless both ends chose
// plaintext), then the key proofs and the codec. Only a peer that went through all of it carries
// replication frames. The caller bounds the time (by destroying the socket).
import type net from 'node:net';
import type { CompressName } from './compress.js';
import { clientHandshake, serverHandshake } from './handshake.js';
import { Peer } from './peer.js';
import { PREAMBLE_BYTES, checkModes, decodePreamble, encodePreamble } from './preamble.js';
import { readExact } from './read-exact.js';
import { tlsClient, tlsServer } from './tls.js';

/** How one end opens its links. */
export interface ChannelOptions {
  /** The shared key (null: a --no-auth target, or a source without a key). */
  key: Buffer | null;
  /** TLS 1.3; false only with --insecure-no-tls. */
  tls: boolean;
}

/** Source side: resolves with an authenticated peer compressing with what the target agreed to. */
export async function openChannel(
  socket: net.Socket,
  o: ChannelOptions & { compress: CompressName },
): Promise<Peer> {
  let peer: Peer | null = null;
  try {
    const mode = { tls: o.tls, keyed: o.key !== null };
    socket.write(encodePreamble(mode));
    checkModes(mode, decodePreamble(await readExact(socket, PREAMBLE_BYTES)), 'source');
    peer = new Peer(o.tls ? await tlsClient(socket, o.key) : socket);
    const { codec } = await clientHandshake(peer, o.key, o.compress);
    peer.authenticated(codec);
    return peer;
  } catch (err) {
    // A graceful end lets the target read our last frame (an AUTH it refuses and logs).
    if (peer) peer.close();
    else socket.destroy();
    throw err;
  }
}

/** Target side: resolves with an authenticated peer, or throws (the socket is then closed). */
export async function acceptChannel(socket: net.Socket, o: ChannelOptions): Promise<Peer> {
  let peer: Peer | null = null;
  try {
    const mode = { tls: o.tls, keyed: o.key !== null };
    socket.write(encodePreamble(mode));
    checkModes(mode, decodePreamble(await readExact(socket, PREAMBLE_BYTES)), 'target');
    peer = new Peer(o.tls ? await tlsServer(socket, o.key) : socket);
    peer.authenticated(await serverHandshake(peer, o.key));
    return peer;
  } catch (err) {
    if (peer) peer.close();
    else socket.end();
    throw err;
  }
}
