// Opening a link over a real loopback TCP pair: preamble, TLS 1.3 with the key's PSK (or
// plaintext when both ends say so), the proofs, the codec, and the pre-authentication limits.
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../src/shared/errors.js';
import { acceptChannel, openChannel, type ChannelOptions } from '../../src/protocol/channel.js';
import type { CompressName } from '../../src/protocol/compress.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { MsgType } from '../../src/protocol/messages.js';
import type { Peer } from '../../src/protocol/peer.js';
import { MAGIC, PROTOCOL_VERSION, encodePreamble } from '../../src/protocol/preamble.js';

async function outcome(p: Promise<unknown>): Promise<SmrError | 'ok'> {
  return p.then(
    () => 'ok' as const,
    (err: unknown) => (err instanceof SmrError ? err : new SmrError('internal', String(err))),
  );
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

/** A listening server; each accepted socket goes to `onConn`. */
async function listen(onConn: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function connected(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  cleanup.push(() => s.destroy());
  await new Promise((r) => s.once('connect', r));
  return s;
}

/** Opens one channel between a client and a server with the given options; both outcomes. */
async function pair(
  client: ChannelOptions & { compress?: CompressName },
  server: ChannelOptions,
): Promise<{ c: Peer | SmrError; s: Peer | SmrError }> {
  let accepted!: (p: { peer: Promise<Peer> }) => void;
  const serverSide = new Promise<{ peer: Promise<Peer> }>((r) => (accepted = r));
  const port = await listen((sock) => accepted({ peer: acceptChannel(sock, server) }));
  const sock = await connected(port);
  const settle = (p: Promise<Peer>): Promise<Peer | SmrError> =>
    p.then(
      (peer) => {
        cleanup.push(() => peer.close());
        return peer;
      },
      (err: unknown) => err as SmrError,
    );
  const c = settle(openChannel(sock, { compress: 'none', ...client }));
  const s = settle((await serverSide).peer);
  return { c: await c, s: await s };
}

/** Where a test's server puts its accept outcome (boxed: a promise in a promise would flatten). */
function serverSlot(): {
  server: Promise<{ p: Promise<unknown> }>;
  accepted: (b: { p: Promise<unknown> }) => void;
} {
  let accepted!: (b: { p: Promise<unknown> }) => void;
  const server = new Promise<{ p: Promise<unknown> }>((r) => (accepted = r));
  return { server, accepted };
}

const keyA = Buffer.alloc(32, 0xa1);
const keyB = Buffer.alloc(32, 0xb2);
const TLS = true;

describe('opening a link', { timeout: 15_000 }, () => {
  it('TLS 1.3 with the same key on both ends: authenticated, encrypted, frames flow', async () => {
    const { c, s } = await pair({ key: keyA, tls: TLS, compress: 'zstd' }, { key: keyA, tls: TLS });
    if (c instanceof SmrError || s instanceof SmrError) throw c instanceof Error ? c : s;
    const t = c.socket as tls.TLSSocket;
    expect(t.encrypted).toBe(true);
    expect(t.getProtocol()).toBe('TLSv1.3');
    expect(t.getCipher().name).toBe('TLS_AES_128_GCM_SHA256');
    expect(c.compression?.name).toBe('zstd');
    expect(s.compression?.name).toBe('zstd');
    const big = Buffer.from('compressible text '.repeat(10_000));
    await c.send(MsgType.ACK, { seq: 1 }, big);
    const f = await s.recv(2000);
    expect(f.header).toEqual({ seq: 1 });
    expect(f.body.equals(big)).toBe(true);
    expect(c.bytesOut).toBeLessThan(big.length / 10); // it went compressed
  });

  it('different keys fail with auth on both ends, inside TLS', async () => {
    const { c, s } = await pair({ key: keyA, tls: TLS }, { key: keyB, tls: TLS });
    expect((c as SmrError).code).toBe('auth');
    expect((c as SmrError).message).toMatch(/keys differ/);
    expect((s as SmrError).code).toBe('auth');
    expect((s as SmrError).message).toMatch(/wrong key/);
  });

  it('different keys fail with auth on both ends over plaintext too', async () => {
    const { c, s } = await pair({ key: keyA, tls: false }, { key: keyB, tls: false });
    expect((c as SmrError).code).toBe('auth');
    expect((s as SmrError).code).toBe('auth');
  });

  it('plaintext only when both ends ask for it; either way round is refused by name', async () => {
    const ok = await pair({ key: keyA, tls: false }, { key: keyA, tls: false });
    expect(ok.c).not.toBeInstanceOf(SmrError);
    expect((ok.c as Peer).socket).not.toBeInstanceOf(tls.TLSSocket);
    const down = await pair({ key: keyA, tls: TLS }, { key: keyA, tls: false });
    expect((down.c as SmrError).code).toBe('auth');
    expect((down.c as SmrError).message).toMatch(/offers no TLS/);
    const up = await pair({ key: keyA, tls: false }, { key: keyA, tls: TLS });
    expect((up.c as SmrError).message).toMatch(/requires TLS/);
    expect((up.s as SmrError).message).toMatch(/offers no TLS/);
  });

  it('no key on either end works (encrypted, unauthenticated); a key on one end only does not', async () => {
    const open = await pair({ key: null, tls: TLS }, { key: null, tls: TLS });
    expect((open.c as Peer).socket).toBeInstanceOf(tls.TLSSocket);
    // A source holding a key never talks to a target that merely claims "no auth".
    const keyed = await pair({ key: keyA, tls: TLS }, { key: null, tls: TLS });
    expect((keyed.c as SmrError).code).toBe('auth');
    expect((keyed.c as SmrError).message).toMatch(/--no-auth/);
    const keyless = await pair({ key: null, tls: TLS }, { key: keyA, tls: TLS });
    expect((keyless.c as SmrError).code).toBe('auth');
    expect((keyless.s as SmrError).code).toBe('auth');
  });

  it('a wrong magic or version closes with protocol or version-mismatch', async () => {
    const { server, accepted } = serverSlot();
    const port = await listen((s) => accepted({ p: acceptChannel(s, { key: keyA, tls: TLS }) }));
    const raw = await connected(port);
    raw.resume();
    raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(((await outcome((await server).p)) as SmrError).code).toBe('protocol');

    const oldPort = await listen((s) => {
      s.on('error', () => undefined);
      const pre = Buffer.alloc(8);
      MAGIC.copy(pre, 0);
      pre.writeUInt16BE(2, 4); // a v2 target: before group markers (crash mode)
      s.write(pre);
    });
    const err = await outcome(
      openChannel(await connected(oldPort), { key: keyA, tls: TLS, compress: 'none' }),
    );
    expect((err as SmrError).code).toBe('version-mismatch');
    expect((err as SmrError).message).toContain(`v${PROTOCOL_VERSION}`);
  });

  it('before authentication a peer gets small frames only, and no compressed ones', async () => {
    const attempt = async (bytes: Buffer): Promise<SmrError | 'ok'> => {
      const { server, accepted } = serverSlot();
      const port = await listen((s) =>
        accepted({ p: acceptChannel(s, { key: keyA, tls: false }) }),
      );
      const raw = await connected(port);
      raw.resume();
      raw.write(Buffer.concat([encodePreamble({ tls: false, keyed: true }), bytes]));
      return outcome((await server).p);
    };
    const hello = { nonce: 'ab'.repeat(32), pad: 'x'.repeat(20_000) };
    expect(
      ((await attempt(Buffer.concat(encodeFrame(MsgType.HELLO, hello)))) as SmrError).code,
    ).toBe('frame-too-large');
    const padded = { nonce: 'ab'.repeat(32), pad: 'y'.repeat(3000) };
    const compressed = Buffer.concat(
      encodeFrame(MsgType.HELLO, padded, undefined, {
        id: 1,
        name: 'zstd',
        compress: (b) => (b.length > 100 ? b.subarray(0, 100) : b),
        decompress: (b) => b,
      }),
    );
    expect(((await attempt(compressed)) as SmrError).code).toBe('protocol');
    // A HELLO for the handshake to take, then frames it never asked for.
    const many = Buffer.concat([
      ...encodeFrame(MsgType.HELLO, { nonce: 'ab'.repeat(32) }),
      ...Array.from({ length: 8 }, () => Buffer.concat(encodeFrame(MsgType.PING, {}))),
    ]);
    expect(((await attempt(many)) as SmrError).message).toMatch(/before authentication/);
  });

  it('a target reads no more than a small ClientHello before TLS', async () => {
    const { server, accepted } = serverSlot();
    const port = await listen((s) => accepted({ p: acceptChannel(s, { key: keyA, tls: TLS }) }));
    const raw = await connected(port);
    raw.resume();
    // A handshake record announcing 16 KiB, and a ClientHello announcing 100 KiB.
    const rec = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x90, 0x00]);
    raw.write(Buffer.concat([encodePreamble({ tls: true, keyed: true }), rec]));
    const err = (await outcome((await server).p)) as SmrError;
    expect(err.code).toBe('protocol');
    expect(err.message).toMatch(/ClientHello/);
  });
});
