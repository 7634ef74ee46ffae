// The verb end of the control channel: one request, one reply.
import { SmrError, errorFromJSON } from '../shared/errors.js';
import type { ParamsOf, ReplyOf, SourceMethod } from './methods.js';
import { connectControl, controlPath } from './socket-path.js';

/** Calls a method of the source daemon of `stateDir`, typed by the method table. */
export async function callSource<K extends SourceMethod>(
  stateDir: string,
  method: K,
  params: ParamsOf<K>,
  opts: { timeoutMs?: number } = {},
): Promise<ReplyOf<K>> {
  // The daemon answers through the same table (src/source/handlers.ts).
  return (await callDaemon(stateDir, method, params, opts)) as ReplyOf<K>;
}

/** Sends one request to the `kind` daemon of `stateDir` and returns its result (or throws its error). */
export function callDaemon(
  stateDir: string,
  method: string,
  params: object = {},
  opts: { kind?: 'source' | 'target'; timeoutMs?: number } = {},
): Promise<unknown> {
  const kind = opts.kind ?? 'source';
  const sockPath = controlPath(stateDir, kind);
  return new Promise((resolve, reject) => {
    const sock = connectControl(sockPath);
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        sock.destroy();
        reject(new SmrError('timeout', `the ${kind} daemon did not answer "${method}" in time`));
      }, opts.timeoutMs);
    }
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, method, params }) + '\n'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EPIPE'].includes(err.code ?? '')) {
        reject(
          new SmrError(
            'daemon-not-running',
            `no ${kind} daemon is running for state dir ${stateDir}`,
            `start one with \`smr ${kind} start --state-dir ${stateDir}\``,
          ),
        );
      } else if (err.code === 'EACCES' || err.code === 'EPERM') {
        reject(
          new SmrError('permission', `permission denied: the ${kind} daemon's control socket`),
        );
      } else reject(new SmrError('io', `control channel error: ${err.message}`));
    });
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      const reply = JSON.parse(buf.slice(0, nl)) as {
        result?: unknown;
        error?: { code?: string; message?: string };
      };
      if (reply.error) reject(errorFromJSON(reply.error));
      else resolve(reply.result);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n'))
        reject(
          new SmrError(
            'daemon-not-running',
            `the ${kind} daemon closed the control channel without answering`,
            'check its log',
          ),
        );
    });
  });
}
