// TLS 1.3 with an external pre-shared key derived from the shared key file (RFC 8446, psk_dhe_ke):
// each end proves the key inside the handshake, and X25519 gives every connection fresh keys, so a
// key file that leaks later does not open recorded traffic. No certificates: the key is the trust.
import crypto from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { SmrError } from '../shared/errors.js';
import { PREAUTH_BUFFER_BYTES } from './limits.js';
import { connectionError, readExact } from './read-exact.js';

// SHA-256 suites only: an external PSK is bound to one hash, and OpenSSL's PSK callbacks use
// SHA-256. AES-GCM runs on AES-NI; ChaCha20 is for CPUs without it.
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
const KEYED_IDENTITY = 'smr/key';
const OPEN_IDENTITY = 'smr/none';
// A --no-auth target still encrypts (against passive listeners) with a PSK everyone can derive.
const OPEN_SECRET = Buffer.from('smr: a --no-auth target, anyone may connect', 'utf8');

/** The TLS PSK of a key (HKDF, so the key file itself is never a TLS secret) and its identity. */
export function tlsPsk(key: Buffer | null): { identity: string; psk: Buffer } {
  const psk = crypto.hkdfSync('sha256', key ?? OPEN_SECRET, 'smr', 'smr tls1.3 external psk', 32);
  return { identity: key ? KEYED_IDENTITY : OPEN_IDENTITY, psk: Buffer.from(psk) };
}

const TLS_OPTIONS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: CIPHERS } as const;
let serverContext: tls.SecureContext | null = null;

/** Source side: TLS over `socket` with the key's PSK; resolves once the target proved the key. */
export function tlsClient(socket: net.Socket, key: Buffer | null): Promise<tls.TLSSocket> {
  const { identity, psk } = tlsPsk(key);
  const t = tls.connect({
    ...TLS_OPTIONS,
    socket,
    pskCallback: () => ({ identity, psk }),
    // There is no certificate: the PSK binder and Finished messages authenticate the target.
    checkServerIdentity: () => undefined,
  });
  return settle(t, 'secureConnect', clientError);
}

/**
 * Target side: reads the source's ClientHello into a small fixed buffer (it must come whole, in
 * one record of at most PREAUTH_BUFFER_BYTES), then runs TLS; resolves once the source proved the key.
 */
export async function tlsServer(socket: net.Socket, key: Buffer | null): Promise<tls.TLSSocket> {
  const head = await readExact(socket, 5);
  const len = head.readUInt16BE(3);
  if (head.readUInt8(0) !== 22 || len < 4 || len > PREAUTH_BUFFER_BYTES)
    throw new SmrError('protocol', 'the source did not start TLS (no ClientHello)');
  const body = await readExact(socket, len);
  if (body.readUInt8(0) !== 1 || body.readUIntBE(1, 3) + 4 > len)
    throw new SmrError('protocol', 'the ClientHello is not whole in its first record');
  socket.unshift(Buffer.concat([head, body]));
  const { identity, psk } = tlsPsk(key);
  serverContext ??= tls.createSecureContext(TLS_OPTIONS);
  // Node's TLSSocket takes pskCallback at run time (as tls.Server does); its types omit it.
  const options: tls.TLSSocketOptions & { pskCallback: tls.TlsOptions['pskCallback'] } = {
    isServer: true,
    secureContext: serverContext,
    pskCallback: (_s, id) => (id === identity ? psk : null),
  };
  const t = new tls.TLSSocket(socket, options);
  return settle(t, 'secure', serverError);
}

function settle(
  t: tls.TLSSocket,
  ready: 'secure' | 'secureConnect',
  mapError: (err: NodeJS.ErrnoException) => SmrError,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      t.off(ready, onReady);
      t.off('error', onError);
      t.off('close', onClose);
    };
    const onReady = (): void => {
      done();
      resolve(t);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      done();
      t.destroy();
      reject(mapError(err));
    };
    const onClose = (): void => {
      done();
      reject(new SmrError('unreachable', 'connection closed during the TLS handshake'));
    };
    t.once(ready, onReady);
    t.once('error', onError);
    t.once('close', onClose);
  });
}

function clientError(err: NodeJS.ErrnoException): SmrError {
  // The target answers a PSK it cannot verify with an alert: that is a key mismatch.
  if (
    String(err.code).startsWith('ERR_SSL_SSLV3_ALERT') ||
    String(err.code).startsWith('ERR_SSL_TLSV1_ALERT')
  )
    return new SmrError(
      'auth',
      `the target refused the TLS handshake: the shared keys differ (${alertName(err)})`,
      'give both sides the same key file',
    );
  if (!String(err.code).startsWith('ERR_SSL'))
    return new SmrError('unreachable', connectionError(err));
  return new SmrError('protocol', `TLS handshake failed: ${err.code ?? err.message}`);
}

function serverError(err: NodeJS.ErrnoException): SmrError {
  if (err.code === 'ERR_SSL_BINDER_DOES_NOT_VERIFY')
    return new SmrError('auth', 'wrong key (its TLS proof of the shared key did not verify)');
  if (!String(err.code).startsWith('ERR_SSL'))
    return new SmrError('unreachable', connectionError(err));
  return new SmrError('protocol', `TLS handshake failed: ${err.code ?? err.message}`);
}

function alertName(err: NodeJS.ErrnoException): string {
  return String(err.code)
    .replace(/^ERR_SSL_(SSLV3|TLSV1)_ALERT_/, '')
    .toLowerCase()
    .replace(/_/g, ' ');
}
