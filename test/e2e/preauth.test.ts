// Pre-authentication bounds: 1,000 hostile connections (each sends a preamble and half of a
// ClientHello, then stalls) from 50 loopback addresses. The target lets at most 64 of them wait,
// 16 per address, drops those after its handshake deadline, stays within 150 MiB of memory, and
// still serves a real source.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  rawPreamble,
  sleep,
  startSource,
  startTarget,
  tmp,
  waitSynced,
  waitUntil,
  write,
} from '../helpers/harness.js';

afterEach(cleanupAll);

const HOSTILE = 1000;
const ADDRESSES = 50;

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    fs.readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return m ? Number(m[1]) : NaN;
}

/** A preamble, a TLS record header announcing 8000 bytes, and 4000 of them: a stalled hello. */
function stalledHello(): Buffer {
  const head = Buffer.from([22, 3, 1, 0x1f, 0x40, 1, 0x00, 0x1f, 0x3c]);
  return Buffer.concat([rawPreamble(), head, Buffer.alloc(4000, 0x55)]);
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
    socket.resume(); // read, so the target's close is seen
    socket.once('connect', () => {
      socket.write(stalledHello());
      resolve(h);
    });
    socket.once('close', () => resolve(h));
  });
}

describe('before authentication', () => {
  it('1,000 hostile connections: bounded slots, a deadline, and memory under 150 MiB', async () => {
    const t = await startTarget();
    const pid = t.proc.pid as number;
    const hostile: Hostile[] = [];
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid, 'VmRSS'))), 20);
    try {
      for (let i = 0; i < HOSTILE; i += 100) {
        const batch = Array.from({ length: 100 }, (_, k) =>
          openHostile(t.port, `127.0.0.${2 + ((i + k) % ADDRESSES)}`),
        );
        hostile.push(...(await Promise.all(batch)));
      }
      await sleep(1000);
      const waiting = hostile.filter((h) => !h.closed);
      const perAddress = new Map<string, number>();
      for (const h of waiting) perAddress.set(h.addr, (perAddress.get(h.addr) ?? 0) + 1);
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting.length).toBeLessThanOrEqual(64);
      expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(16);
      // The handshake deadline drops the ones that were let in.
      await waitUntil(() => hostile.every((h) => h.closed), 20_000, 'the deadline to drop them');
    } finally {
      clearInterval(sampler);
      for (const h of hostile) h.socket.destroy();
    }
    const hwm = rssKiB(pid, 'VmHWM');
    console.log(
      `target RSS under ${HOSTILE} hostile connections: peak ${Math.round(hwm / 1024)} MiB (sampled ${Math.round(peak / 1024)} MiB)`,
    );
    expect(hwm / 1024).toBeLessThanOrEqual(150);
    // The target logs each drop after the socket is gone: its lines may trail the clients' closes.
    const logged = (re: RegExp) => waitUntil(() => re.test(t.log()), 10_000, `log ${re}`);
    await logged(/closed \d+ connection\(s\) on accept/);
    await logged(/did not authenticate within/);

    // And a real source still gets in.
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'after.txt'), 'after the storm');
    await connect(s, 'web', t, dir);
    await waitSynced(s, 'web');
    await expectSameTree(dir, path.join(t.root, 'web'));
  }, 60_000);
});
