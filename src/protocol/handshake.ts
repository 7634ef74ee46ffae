// Mutual challenge-response authentication with the shared key (the key never crosses the wire),
// and the choice of compression. Inside TLS the PSK has proven the key already; the proofs still
// run so plaintext links (--insecure-no-tls) are authenticated the same way.
import crypto from 'node:crypto';
import { SmrError } from '../shared/errors.js';
import { codecByName, type Codec, type CompressName } from './compress.js';
import { HANDSHAKE_TIMEOUT_MS } from './limits.js';
import { MsgType, frameIs, type Frame, type FrameOf, type MsgTypeCode } from './messages.js';
import type { Peer } from './peer.js';

const NONCE_BYTES = 32;

/** HMAC-SHA256 proof that the sender holds the key, bound to both nonces and its role. */
export function proof(key: Buffer, role: 'server' | 'client', a: string, b: string): string {
  return crypto.createHmac('sha256', key).update(`smr-${role}\0${a}\0${b}`).digest('hex');
}

function safeEqual(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function expect<T extends MsgTypeCode>(f: Frame, type: T): FrameOf<T> {
  if (f.type === MsgType.REFUSED) {
    const code = String(f.header.code ?? 'protocol');
    throw new SmrError(
      code === 'auth' ? 'auth' : 'protocol',
      String(f.header.message ?? 'refused by peer'),
    );
  }
  if (!frameIs(f, type))
    throw new SmrError('protocol', `unexpected frame type ${f.type} during handshake`);
  return f;
}

/**
 * Source side: proves itself, checks the target's proof and offers `compress`; resolves with the
 * codec the target agreed to. `key` null only for --no-auth targets.
 */
export async function clientHandshake(
  peer: Peer,
  key: Buffer | null,
  compress: CompressName = 'none',
): Promise<{ auth: 'key' | 'none'; codec: Codec | null }> {
  const cNonce = crypto.randomBytes(NONCE_BYTES).toString('hex');
  await peer.send(MsgType.HELLO, {
    nonce: cNonce,
    compress: compress === 'none' ? [] : [compress],
  });
  const ch = expect(await peer.recv(HANDSHAKE_TIMEOUT_MS), MsgType.CHALLENGE);
  const sNonce = String(ch.header.nonce ?? '');
  if (ch.header.auth === 'none') {
    // Anyone can claim "no auth": a source that holds a key never streams to such a target.
    if (key) {
      throw new SmrError(
        'auth',
        'the target accepts sources without a key (--no-auth) but this connection has one',
        'start the target with the same --key-file, or drop the key from this connection',
      );
    }
    await peer.send(MsgType.AUTH, { proof: null });
  } else {
    if (!key) {
      throw new SmrError(
        'auth',
        'the target requires a shared key and none was given',
        'pass --key-file with the key from `smr key generate`',
      );
    }
    const targetOk = safeEqual(ch.header.proof, proof(key, 'server', cNonce, sNonce));
    // Our proof goes even when the target's failed, so the target can log the refusal; an HMAC
    // over fresh nonces tells an impostor nothing about the key.
    await peer.send(MsgType.AUTH, { proof: proof(key, 'client', sNonce, cNonce) });
    if (!targetOk) {
      throw new SmrError(
        'auth',
        'the target does not hold the same key (its proof did not match)',
        'give both sides the same key file',
      );
    }
  }
  const welcome = expect(await peer.recv(HANDSHAKE_TIMEOUT_MS), MsgType.WELCOME);
  const agreed = String(welcome.header.compress ?? 'none');
  if (agreed !== 'none' && agreed !== compress)
    throw new SmrError('protocol', `the target chose compression "${agreed}", not offered`);
  return { auth: ch.header.auth === 'none' ? 'none' : 'key', codec: codecByName(agreed) };
}

/**
 * Target side: challenges the source; refuses (and throws) when its proof is wrong. Resolves with
 * the codec of the source's first offer this target knows (null: none).
 */
export async function serverHandshake(peer: Peer, key: Buffer | null): Promise<Codec | null> {
  const hello = expect(await peer.recv(HANDSHAKE_TIMEOUT_MS), MsgType.HELLO);
  const cNonce = String(hello.header.nonce ?? '');
  if (!/^[0-9a-f]{64}$/.test(cNonce)) throw new SmrError('protocol', 'malformed hello nonce');
  const sNonce = crypto.randomBytes(NONCE_BYTES).toString('hex');
  await peer.send(MsgType.CHALLENGE, {
    nonce: sNonce,
    auth: key ? 'key' : 'none',
    proof: key ? proof(key, 'server', cNonce, sNonce) : null,
  });
  const auth = expect(await peer.recv(HANDSHAKE_TIMEOUT_MS), MsgType.AUTH);
  if (key && !safeEqual(auth.header.proof, proof(key, 'client', sNonce, cNonce))) {
    await peer
      .send(MsgType.REFUSED, {
        code: 'auth',
        message: 'key refused by the target: the shared keys differ',
      })
      .catch(() => undefined);
    throw new SmrError('auth', `refused ${peer.remote}: wrong key`);
  }
  const codec = chooseCodec(hello.header.compress);
  await peer.send(MsgType.WELCOME, { compress: codec?.name ?? 'none' });
  return codec;
}

function chooseCodec(offer: unknown): Codec | null {
  if (!Array.isArray(offer)) return null;
  for (const name of offer.slice(0, 8)) {
    try {
      const c = codecByName(String(name));
      if (c) return c;
    } catch {
      // a codec this target does not know: the next offer, or none
    }
  }
  return null;
}
