// The wire as a hostile source speaks it, written out here from docs/PROTOCOL.md (not imported
// from src/: the harness must not share the code it tests). Preamble, TLS 1.3 with the key's PSK,
// the HMAC proofs, frames raw or compressed, and a reader of what the target sends back.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { traceFrame } from './trace.js';

/** Frame type codes (docs/PROTOCOL.md). */
export const T = {
  HELLO: 1,
  CHALLENGE: 2,
  AUTH: 3,
  WELCOME: 4,
  REFUSED: 5,
  OPEN: 10,
  OPENED: 11,
  OP: 12,
  ACK: 13,
  NEED: 14,
  LIST: 15,
  LIST_ITEMS: 16,
  REQUEST: 17,
  REPLY: 18,
  EVENT: 19,
  PING: 20,
  PONG: 21,
  FAULT: 22,
} as const;

/** Codec ids of compressed frames. */
export const CODEC = { zstd: 1, lz4: 2 } as const;
/** A codec a session may agree on. */
export type CodecName = keyof typeof CODEC;

/** The 8-byte preamble: "SMRP", u16 version 3, TLS (1) or plaintext (0), keyed (1). */
export function preamble(tlsOn: boolean, version = 3, keyed = 1): Buffer {
  const b = Buffer.alloc(8);
  b.write('SMRP', 0, 'ascii');
  b.writeUInt16BE(version, 4);
  b.writeUInt8(tlsOn ? 1 : 0, 6);
  b.writeUInt8(keyed, 7);
  return b;
}

/** u32 length | u8 type | u32 header length | header | body. */
export function frame(type: number, header: unknown, body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  return rawFrame(type, h, body);
}

/** A frame from header bytes as they are (not necessarily JSON). */
export function rawFrame(type: number, h: Buffer, body: Buffer): Buffer {
  const p = Buffer.alloc(9);
  p.writeUInt32BE(1 + 4 + h.length + body.length, 0);
  p.writeUInt8(type & 0xff, 4);
  p.writeUInt32BE(h.length, 5);
  return Buffer.concat([p, h, body]);
}

/** One zstd frame of raw (stored) blocks holding `data`: valid zstd, no compressor needed. */
export function zstdStored(data: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(0xfd2fb528, 0);
  head.writeUInt8(0xa0, 4); // 4-byte content size, single segment, no checksum, no dictionary
  head.writeUInt32LE(data.length, 5);
  const parts: Buffer[] = [head];
  const MAX = 128 * 1024;
  for (let at = 0; at < data.length || at === 0; at += MAX) {
    const n = Math.min(MAX, data.length - at);
    const last = at + MAX >= data.length ? 1 : 0;
    const bh = Buffer.alloc(3);
    bh.writeUIntLE((n << 3) | last, 0, 3); // block type 0: raw
    parts.push(bh, data.subarray(at, at + n));
    if (last) break;
  }
  return Buffer.concat(parts);
}

/**
 * A compressed OP frame whose body is `bodyLen` repeats of one byte: a zstd frame of RLE blocks,
 * a few hundred bytes on the wire for megabytes once expanded (a decompression bomb, within the
 * size the frame declares).
 */
export function zstdBomb(header: unknown, bodyLen: number): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(4 + h.length);
  head.writeUInt32BE(h.length, 0);
  h.copy(head, 4);
  const size = head.length + bodyLen;
  const fh = Buffer.alloc(9);
  fh.writeUInt32LE(0xfd2fb528, 0);
  fh.writeUInt8(0xa0, 4);
  fh.writeUInt32LE(size, 5);
  const block = (n: number, type: number, last: boolean): Buffer => {
    const b = Buffer.alloc(3);
    b.writeUIntLE((n << 3) | (type << 1) | (last ? 1 : 0), 0, 3);
    return b;
  };
  const parts: Buffer[] = [fh, block(head.length, 0, bodyLen === 0), head];
  for (let left = bodyLen; left > 0;) {
    const n = Math.min(128 * 1024, left);
    left -= n;
    parts.push(block(n, 1, left === 0), Buffer.from([0x41]));
  }
  const packed = Buffer.concat(parts);
  const p = Buffer.alloc(10);
  p.writeUInt32BE(1 + 1 + 4 + packed.length, 0);
  p.writeUInt8(T.OP | 0x80, 4);
  p.writeUInt8(CODEC.zstd, 5);
  p.writeUInt32BE(size, 6);
  return Buffer.concat([p, packed]);
}

/** An lz4 block of literals only (valid lz4), with the u32 LE size smr prepends. */
export function lz4Stored(data: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE(data.length, 0);
  const n = data.length;
  const ext: number[] = [];
  if (n >= 15) {
    let rest = n - 15;
    while (rest >= 255) {
      ext.push(255);
      rest -= 255;
    }
    ext.push(rest);
  }
  const token = Buffer.from([Math.min(n, 15) << 4, ...ext]);
  return Buffer.concat([size, token, data]);
}

/** A compressed frame: u32 L | type|0x80 | codec | u32 U | compressed (u32 H | header | body). */
export function compressedFrame(
  type: number,
  header: unknown,
  body: Buffer,
  codec: CodecName,
): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const hl = Buffer.alloc(4);
  hl.writeUInt32BE(h.length, 0);
  const plain = Buffer.concat([hl, h, body]);
  const packed = codec === 'zstd' ? zstdStored(plain) : lz4Stored(plain);
  const p = Buffer.alloc(10);
  p.writeUInt32BE(1 + 1 + 4 + packed.length, 0);
  p.writeUInt8(type | 0x80, 4);
  p.writeUInt8(CODEC[codec], 5);
  p.writeUInt32BE(plain.length, 6);
  return Buffer.concat([p, packed]);
}

/** A frame the target sent: its type (high bit cleared) and, unless compressed, its header. */
export interface SeenFrame {
  type: number;
  header: Record<string, unknown> | null;
}

/** What the target sends back, split into frames (compressed ones are skipped unread). */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: SeenFrame) => void) {}

  push(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) return;
      const type = this.buf.readUInt8(4);
      let header: Record<string, unknown> | null = null;
      if (!(type & 0x80) && len >= 5) {
        const hl = this.buf.readUInt32BE(5);
        try {
          header = JSON.parse(this.buf.subarray(9, 9 + hl).toString('utf8')) as Record<
            string,
            unknown
          >;
        } catch {
          header = null;
        }
      }
      this.onFrame({ type: type & 0x7f, header });
      this.buf = this.buf.subarray(4 + len);
    }
  }
}

/** The TLS 1.3 PSK of a key: HKDF-SHA256(key, "smr", "smr tls1.3 external psk"), 32 bytes. */
function tlsPsk(key: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', key, 'smr', 'smr tls1.3 external psk', 32));
}

/** HMAC-SHA256 handshake proof: `smr-<role>\0<a>\0<b>` keyed by the shared key. */
function proof(key: Buffer, role: 'server' | 'client', a: string, b: string): string {
  return crypto.createHmac('sha256', key).update(`smr-${role}\0${a}\0${b}`).digest('hex');
}

/** One connection to a target, raw or inside TLS, with the frames it sent back. */
export class Conn {
  readonly frames: SeenFrame[] = [];
  closed = false;
  private stream: net.Socket;
  private reader = new FrameReader((f) => this.seen(f));
  private preambleLeft = 8;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    this.stream = socket;
    socket.on('data', (d: Buffer) => this.onRaw(d));
    socket.on('error', () => undefined);
    socket.on('close', () => this.gone());
  }

  /** Opens a TCP connection to 127.0.0.1:port (from `localAddress` when given). */
  static open(port: number, localAddress?: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress });
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private onRaw(d: Buffer): void {
    if (this.stream !== this.socket) return; // TLS reads these bytes
    if (this.preambleLeft > 0) {
      const n = Math.min(this.preambleLeft, d.length);
      this.preambleLeft -= n;
      d = d.subarray(n);
      this.wake();
    }
    if (d.length) this.reader.push(d);
  }

  private seen(f: SeenFrame): void {
    this.frames.push(f);
    this.wake();
  }

  private gone(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds or the connection closes (true) or `ms` pass (false). */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred() && !this.closed) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** The first frame from index `from` on of one of `types`, or null (closed, or timed out). */
  async frameOf(types: number[], ms: number, from = 0): Promise<SeenFrame | null> {
    const find = (): SeenFrame | undefined =>
      this.frames.slice(from).find((f) => types.includes(f.type));
    await this.until(() => find() !== undefined, ms);
    return find() ?? null;
  }

  write(b: Buffer): void {
    traceFrame(b);
    if (!this.closed) this.stream.write(b);
  }

  /**
   * True once what was written has been handed to the kernel or the connection died; false when
   * the target read none of it for `ms` (it stopped reading this connection).
   */
  async flushed(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && this.stream.writableLength > 0) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** TLS 1.3 with the key's PSK over this connection (after the preambles). */
  async startTls(key: Buffer): Promise<boolean> {
    if (!(await this.until(() => this.preambleLeft === 0, 10_000)) || this.closed) return false;
    const t = tls.connect({
      socket: this.socket,
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_128_GCM_SHA256',
      pskCallback: () => ({ identity: 'smr/key', psk: tlsPsk(key) }),
      checkServerIdentity: () => undefined,
    });
    this.stream = t;
    t.on('data', (d: Buffer) => this.reader.push(d));
    t.on('error', () => undefined);
    t.on('close', () => this.gone());
    return new Promise((resolve) => {
      t.once('secureConnect', () => resolve(true));
      t.once('error', () => resolve(false));
      t.once('close', () => resolve(false));
    });
  }

  /** The proofs (HELLO, CHALLENGE, AUTH, WELCOME); resolves with the agreed codec, or false. */
  async authenticate(key: Buffer, offer: CodecName[]): Promise<CodecName | 'none' | false> {
    const cNonce = crypto.randomBytes(32).toString('hex');
    this.write(frame(T.HELLO, { nonce: cNonce, compress: offer }));
    const ch = await this.frameOf([T.CHALLENGE], 10_000);
    if (!ch?.header) return false;
    const sNonce = String(ch.header.nonce);
    this.write(frame(T.AUTH, { proof: proof(key, 'client', sNonce, cNonce) }));
    const w = await this.frameOf([T.WELCOME, T.REFUSED], 10_000);
    if (w?.type !== T.WELCOME || !w.header) return false;
    const c = String(w.header.compress);
    return c === 'zstd' || c === 'lz4' ? c : 'none';
  }

  destroy(): void {
    this.stream.destroy();
    this.socket.destroy();
  }
}

/**
 * A real ClientHello of smr's TLS (a TLS client with the PSK, talking to a listener that only
 * records): the seed of the mutated-handshake frames.
 */
export async function captureClientHello(key: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(Buffer.from(d));
        s.destroy();
        srv.close();
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      const sock = net.connect({ host: '127.0.0.1', port }, () => {
        const t = tls.connect({
          socket: sock,
          minVersion: 'TLSv1.3',
          ciphers: 'TLS_AES_128_GCM_SHA256',
          pskCallback: () => ({ identity: 'smr/key', psk: tlsPsk(key) }),
          checkServerIdentity: () => undefined,
        });
        t.on('error', () => undefined);
      });
      sock.on('error', reject);
    });
  });
}
