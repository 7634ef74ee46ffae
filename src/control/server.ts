// The daemon end of the control channel: newline-delimited JSON requests and replies over a
// unix socket with mode 0600 (only the owner can drive the daemon).
import net from 'node:net';
import { promises as fsp } from 'node:fs';
import { asSmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { reachSocket } from './socket-path.js';

/** A control request handler: returns data or throws an SmrError. */
export type ControlHandler = (method: string, params: Record<string, unknown>) => Promise<unknown>;

const MAX_REQUEST_BYTES = 1024 * 1024;

/** Listens on `sockPath`; returns a close function. */
export async function startControlServer(
  sockPath: string,
  handler: ControlHandler,
): Promise<() => Promise<void>> {
  if (process.platform !== 'win32') await fsp.rm(sockPath, { force: true });
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES) return sock.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void answer(sock, line, handler);
      }
    });
  });
  const addr = reachSocket(sockPath);
  const oldMask = process.umask(0o177); // the socket is created 0600
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.address, resolve);
  }).finally(() => {
    process.umask(oldMask);
    addr.close();
  });
  if (process.platform !== 'win32') await fsp.chmod(sockPath, 0o600);
  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
    for (const c of conns) c.destroy();
    if (process.platform !== 'win32') await fsp.rm(sockPath, { force: true });
  };
}

async function answer(sock: net.Socket, line: string, handler: ControlHandler): Promise<void> {
  let id: unknown = null;
  try {
    const req = JSON.parse(line) as { id?: unknown; method?: unknown; params?: unknown };
    id = req.id ?? null;
    const result = await handler(String(req.method), (req.params ?? {}) as Record<string, unknown>);
    write(sock, { id, result: result ?? null });
  } catch (err) {
    const e = asSmrError(err);
    if (e.code === 'internal' || e.code === 'io') log.error(`control request failed: ${e.message}`);
    write(sock, { id, error: e.toJSON() });
  }
}

function write(sock: net.Socket, obj: unknown): void {
  if (!sock.destroyed) sock.write(JSON.stringify(obj) + '\n');
}
