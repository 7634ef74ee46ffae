// The long form of the pre-authentication test (issue 18; its short form is
// test/e2e/preauth.test.ts): N hostile connections from 50 loopback addresses, each sending a
// preamble and half a ClientHello, then stalling. A fresh target lets at most 64 wait, 16 per
// address, drops them at its deadline, stays within its memory bound, and still serves a source.
import net from 'node:net';
import { preamble } from './wire.js';
import { rssKiB, type FuzzTarget } from './target.js';

/** What the storm did to the target. */
export interface HostileResult {
  connections: number;
  /** Connections the target let wait at once (after the storm was in). */
  waiting: number;
  maxPerAddress: number;
  /** All were closed by the target within the deadline plus slack. */
  allClosed: boolean;
  /** VmHWM of the target after the storm, MiB. */
  peakMiB: number;
}

const ADDRESSES = 50;

/** A preamble, a TLS record header announcing 8000 bytes, and 4000 of them: a stalled hello. */
function stalledHello(): Buffer {
  const head = Buffer.from([22, 3, 1, 0x1f, 0x40, 1, 0x00, 0x1f, 0x3c]);
  return Buffer.concat([preamble(true), head, Buffer.alloc(4000, 0x55)]);
}

interface Hostile {
  addr: string;
  socket: net.Socket;
  closed: boolean;
}

function openHostile(port: number, addr: string): Promise<Hostile> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: addr });
    const h: Hostile = { addr, socket, closed: false };
    socket.on('error', () => undefined);
    socket.on('close', () => (h.closed = true));
    socket.resume();
    socket.once('connect', () => {
      socket.write(stalledHello());
      resolve(h);
    });
    socket.once('close', () => resolve(h));
  });
}

/** Runs the storm against `t` (a target that has served nothing yet, so VmHWM is the storm's). */
export async function hostileStorm(t: FuzzTarget, n: number): Promise<HostileResult> {
  const hostile: Hostile[] = [];
  try {
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, (_, k) =>
        openHostile(t.port, `127.0.0.${2 + ((i + k) % ADDRESSES)}`),
      );
      hostile.push(...(await Promise.all(batch)));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = hostile.filter((h) => !h.closed);
    const perAddress = new Map<string, number>();
    for (const h of waiting) perAddress.set(h.addr, (perAddress.get(h.addr) ?? 0) + 1);
    const end = Date.now() + 20_000;
    while (Date.now() < end && !hostile.every((h) => h.closed))
      await new Promise((r) => setTimeout(r, 50));
    return {
      connections: hostile.length,
      waiting: waiting.length,
      maxPerAddress: Math.max(0, ...perAddress.values()),
      allClosed: hostile.every((h) => h.closed),
      peakMiB: Math.round(rssKiB(t.pid, 'VmHWM') / 1024),
    };
  } finally {
    for (const h of hostile) h.socket.destroy();
  }
}
