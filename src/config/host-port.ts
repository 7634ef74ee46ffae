// HOST:PORT as the contract writes addresses (`--listen`, `--to`): a host name, an IPv4 address or
// a bracketed IPv6 address, and a port (6320 when left out).
import { SmrError } from '../shared/errors.js';

/** The port smr uses when an address names none. */
export const DEFAULT_PORT = 6320;

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses `host:port`, `[v6]:port` or a bare host; throws SmrError('usage') naming what is wrong. */
export function parseHostPortText(text: string): { host: string; port: number } {
  const t = String(text).trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(t);
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || (m[2] !== undefined && !HOST.test(host)))
    throw new SmrError('usage', `bad address "${text}"`, 'use HOST:PORT, like 127.0.0.1:6320');
  if (port > 65535)
    throw new SmrError('usage', `bad port in "${text}"`, 'a port is between 0 and 65535');
  return { host, port };
}
