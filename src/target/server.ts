// The target's TCP listener: each accepted socket passes the pre-authentication gate, then gets a
// session of its own, isolated from the others.
import net from 'node:net';
import { SmrError } from '../shared/errors.js';
import { Admission } from './admission.js';
import { serveSession, type TargetContext } from './session.js';

/** A listening target. */
export interface TargetServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. */
export function listen(host: string, port: number, ctx: TargetContext): Promise<TargetServer> {
  const sessions = new Set<Promise<void>>();
  const sockets = new Set<net.Socket>();
  const admission = new Admission({ key: ctx.key, tls: ctx.tls });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the gate and the session report what matters
    const s = admission.admit(socket).then((peer) => (peer ? serveSession(peer, ctx) : undefined));
    sessions.add(s);
    void s.finally(() => sessions.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new SmrError(
          err.code === 'EADDRINUSE' ? 'usage' : 'io',
          `cannot listen on ${host}:${port}: ${err.code ?? err.message}`,
          'pick another --listen port',
        ),
      );
    });
    server.listen(port, host, () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: addr.address,
        port: addr.port,
        close: async () => {
          // close() only calls back once every connection is gone, so end them first.
          const closed = new Promise<void>((r) => server.close(() => r()));
          for (const s of sockets) s.end();
          await Promise.allSettled([...sessions]);
          await closed;
        },
      });
    });
  });
}
