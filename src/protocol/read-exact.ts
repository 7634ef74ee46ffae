// Reading a fixed number of bytes from a socket before a framed peer or TLS takes it over.
import type net from 'node:net';
import { SmrError } from '../shared/errors.js';

/**
 * Resolves with exactly `n` bytes from `socket`, leaving anything after them buffered in the socket
 * for whoever reads next (TLS picks buffered bytes up). Rejects when the socket ends or fails first.
 */
export function readExact(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      socket.off('readable', tryRead);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const onEnd = (): void => {
      done();
      reject(new SmrError('unreachable', 'connection closed by peer'));
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      done();
      reject(err instanceof SmrError ? err : new SmrError('unreachable', connectionError(err)));
    };
    function tryRead(): void {
      const b = socket.read(n) as Buffer | null;
      if (!b) return;
      done();
      // At the end of the stream read(n) hands over what is left, which may be short.
      if (b.length < n) reject(new SmrError('unreachable', 'connection closed by peer'));
      else resolve(b);
    }
    socket.on('readable', tryRead);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (socket.destroyed) onEnd();
  });
}

/** One line for a socket error: its errno code when it has one. */
export function connectionError(err: NodeJS.ErrnoException): string {
  return `connection failed: ${err.code ?? err.message}`;
}
