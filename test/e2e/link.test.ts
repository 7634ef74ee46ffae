// The link between real daemons: TLS 1.3 by default (file content never crosses in the clear),
// plaintext only when both ends ask for it, a peer offering no TLS refused by name, and
// compression that shrinks text and leaves already-compressed data as it is.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  connect,
  expectSameTree,
  smr,
  startProxy,
  startSource,
  startTarget,
  status,
  tmp,
  waitSynced,
  waitUntil,
  write,
  type Proxy,
} from '../helpers/harness.js';

afterEach(cleanupAll);

/** Whether `needle` appears in the bytes one proxied direction carried. */
function carried(proxy: Proxy, needle: Buffer): boolean {
  return proxy.conns.some((c) => Buffer.concat([...c.rawUp, ...c.rawDown]).includes(needle));
}

/** Text that compresses (like a log), `bytes` long. */
function logText(bytes: number, seed: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let size = 0; size < bytes; n++) {
    const id = crypto.createHash('sha1').update(`${seed}-${n}`).digest('hex').slice(0, 8);
    const line = `2026-12-05T10:${String(n % 60).padStart(2, '0')}:00Z INFO request id=${id} path=/api/items/${n % 977} status=200 took=${n % 97}ms\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('the link', () => {
  it('carries file content only inside TLS; plaintext needs --insecure-no-tls on both ends', async () => {
    const marker = Buffer.from(`secret-${crypto.randomBytes(16).toString('hex')}-`.repeat(64));
    const s = await startSource();

    const t = await startTarget();
    const proxy = await startProxy(t.port, { record: true });
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'secret.txt'), marker);
    // No compression: only TLS stands between the content and the wire.
    await connect(s, 'web', { ...t, addr: proxy.addr }, dir, ['--compress', 'none']);
    await write(path.join(dir, 'later.txt'), marker);
    await waitSynced(s, 'web');
    await expectSameTree(dir, path.join(t.root, 'web'));
    expect(proxy.conns.length).toBeGreaterThan(0);
    expect(proxy.conns.every((c) => c.opaque)).toBe(true);
    expect(carried(proxy, marker.subarray(0, 48))).toBe(false);

    // The same bytes over a plaintext link are visible to the proxy: the check above can fail.
    const tp = await startTarget({ extra: ['--insecure-no-tls'] });
    const open = await startProxy(tp.port, { record: true });
    const plain = ['--insecure-no-tls', '--compress', 'none'];
    await connect(s, 'plain', { ...tp, addr: open.addr }, dir, plain);
    await waitSynced(s, 'plain');
    await expectSameTree(dir, path.join(tp.root, 'plain'));
    expect((await status(s, 'plain')).transport).toEqual({ tls: false, compress: 'none' });
    expect(carried(open, marker.subarray(0, 48))).toBe(true);
    expect(tp.log()).toMatch(/insecure-no-tls/);
  });

  it('refuses a peer that offers no TLS, and a TLS peer at a plaintext target, by name', async () => {
    const s = await startSource();
    const dir = await tmp('smr-src-');
    await write(path.join(dir, 'a.txt'), 'a');
    const plainTarget = await startTarget({ extra: ['--insecure-no-tls'] });
    const tlsTarget = await startTarget();
    const args = (t: { addr: string; keyFile: string | null }, extra: string[] = []) => [
      'connect',
      'web',
      '--to',
      t.addr,
      '--path',
      dir,
      '--key-file',
      t.keyFile as string,
      '--state-dir',
      s.stateDir,
      '--json',
      ...extra,
    ];
    // A source that wants TLS never falls back to plaintext.
    const down = await smr(args(plainTarget));
    expect(down.code, down.stdout + down.stderr).toBe(7);
    expect(down.json.error.message).toMatch(/offers no TLS/);
    expect(down.json.error.message).toMatch(/--insecure-no-tls/);
    await waitUntil(() => /refused connection .*requires TLS/.test(plainTarget.log()), 5000);
    // A plaintext source is refused by a target that was not told to allow it.
    const up = await smr(args(tlsTarget, ['--insecure-no-tls']));
    expect(up.code, up.stdout + up.stderr).toBe(7);
    expect(up.json.error.message).toMatch(/requires TLS/);
    await waitUntil(() => /refused connection .*offers no TLS/.test(tlsTarget.log()), 5000);
    const st = await smr(['status', '--json', '--state-dir', s.stateDir]);
    expect(st.json.connections).toEqual([]);

    // A source daemon started with --insecure-no-tls makes every link plaintext.
    const plainSource = await startSource(undefined, ['--insecure-no-tls']);
    await connect(plainSource, 'web', plainTarget, dir);
    await waitSynced(plainSource, 'web');
    await expectSameTree(dir, path.join(plainTarget.root, 'web'));
  });

  it('compresses text to under 0.4 of its size and sends already-compressed data raw', async () => {
    const t = await startTarget();
    const s = await startSource();
    const proxy = await startProxy(t.port);
    const dir = await tmp('smr-src-');
    const text = logText(6 * 1024 * 1024, 1);
    await write(path.join(dir, 'app.log'), text);
    await connect(s, 'web', { ...t, addr: proxy.addr }, dir);
    await waitSynced(s, 'web');
    const st = await status(s, 'web');
    expect(st.transport).toEqual({ tls: true, compress: 'zstd' });
    expect(st.sent.bytes).toBeGreaterThanOrEqual(text.length);
    expect(st.sent.wireBytes / st.sent.bytes).toBeLessThan(0.4);
    // Measured on the wire too (TLS records and every other frame included).
    const wire = proxy.conns.reduce((n, c) => n + c.bytesUp, 0);
    expect(wire / text.length).toBeLessThan(0.4);

    // Random bytes (as in a .zip or .jpg) do not shrink: they go raw, not inflated.
    const random = crypto.randomBytes(4 * 1024 * 1024);
    await write(path.join(dir, 'photo.jpg'), random);
    await waitSynced(s, 'web');
    const after = await status(s, 'web');
    const sent = after.sent.bytes - st.sent.bytes;
    const onWire = after.sent.wireBytes - st.sent.wireBytes;
    expect(sent).toBeGreaterThanOrEqual(random.length);
    expect(onWire / sent).toBeGreaterThan(0.99);
    expect(onWire / sent).toBeLessThan(1.01);
    await expectSameTree(dir, path.join(t.root, 'web'));
  });

  it('lz4 and none are negotiated per connection', async () => {
    const t = await startTarget();
    const s = await startSource();
    const text = logText(2 * 1024 * 1024, 2);
    const ratios: Record<string, number> = {};
    for (const codec of ['lz4', 'none']) {
      const dir = await tmp('smr-src-');
      await write(path.join(dir, 'app.log'), text);
      await connect(s, codec, t, dir, ['--compress', codec]);
      await waitSynced(s, codec);
      await expectSameTree(dir, path.join(t.root, codec));
      const st = await status(s, codec);
      expect(st.transport).toEqual({ tls: true, compress: codec });
      ratios[codec] = st.sent.wireBytes / st.sent.bytes;
    }
    expect(ratios.lz4).toBeLessThan(0.5);
    expect(ratios.none).toBeGreaterThan(1);
  });
});
