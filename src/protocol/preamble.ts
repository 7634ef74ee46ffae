// The 8 bytes each side sends first, in the clear: magic, version and what this end requires of
// the link, so a mismatch (TLS against --insecure-no-tls, a key against --no-auth) is refused with a
// message naming it, instead of failing somewhere inside TLS. Each end decides from its own
// settings only: a peer (or a man in the middle) saying "no TLS" never turns TLS off.
import { SmrError } from '../shared/errors.js';

/** "SMRP": the first four bytes each side sends. */
export const MAGIC = Buffer.from('SMRP', 'ascii');
/** Protocol version; bump on any incompatible change (3: consistency groups, the `files` op). */
export const PROTOCOL_VERSION = 3;
/** Size of the preamble. */
export const PREAMBLE_BYTES = 8;

/** What one end requires of the link. */
export interface LinkMode {
  /** TLS 1.3 (false only with --insecure-no-tls). */
  tls: boolean;
  /** Authenticated by a shared key (false: a --no-auth target, or a source without a key). */
  keyed: boolean;
}

/** Encodes this end's preamble. */
export function encodePreamble(mode: LinkMode, version = PROTOCOL_VERSION): Buffer {
  const b = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16BE(version, 4);
  b.writeUInt8(mode.tls ? 1 : 0, 6);
  b.writeUInt8(mode.keyed ? 1 : 0, 7);
  return b;
}

/** Decodes the peer's preamble; throws protocol or version-mismatch. */
export function decodePreamble(b: Buffer): LinkMode {
  if (!b.subarray(0, 4).equals(MAGIC))
    throw new SmrError('protocol', 'peer is not an smr endpoint (bad magic)');
  const version = b.readUInt16BE(4);
  if (version !== PROTOCOL_VERSION) {
    throw new SmrError(
      'version-mismatch',
      `peer speaks protocol v${version}, this smr speaks v${PROTOCOL_VERSION}`,
      'run the same smr version on source and target',
    );
  }
  const tls = b.readUInt8(6);
  const keyed = b.readUInt8(7);
  if (tls > 1 || keyed > 1) throw new SmrError('protocol', 'malformed preamble');
  return { tls: tls === 1, keyed: keyed === 1 };
}

type Side = 'source' | 'target';

/** Throws `auth` with a message naming the difference when the two ends' modes do not fit. */
export function checkModes(local: LinkMode, peer: LinkMode, side: Side): void {
  const m = mismatch(local, peer, side);
  if (m) throw new SmrError('auth', m[0], m[1]);
}

function mismatch(local: LinkMode, peer: LinkMode, side: Side): [string, string] | null {
  const src = side === 'source';
  if (local.tls && !peer.tls) {
    return src
      ? [
          'the target offers no TLS (it runs with --insecure-no-tls): refusing to send data in the clear',
          'start both ends with --insecure-no-tls (trusted networks only), or neither',
        ]
      : [
          'the source offers no TLS (--insecure-no-tls) and this target requires TLS',
          'start both ends with --insecure-no-tls (trusted networks only), or neither',
        ];
  }
  if (!local.tls && peer.tls) {
    return src
      ? [
          'this connection is plaintext (--insecure-no-tls) but the target requires TLS',
          'drop --insecure-no-tls, or start the target with it too',
        ]
      : [
          'the source requires TLS but this target runs with --insecure-no-tls',
          'drop --insecure-no-tls on the target, or use it on both ends',
        ];
  }
  if (local.keyed && !peer.keyed) {
    return src
      ? [
          'the target accepts sources without a key (--no-auth) but this connection has one',
          'start the target with the same --key-file, or drop the key from this connection',
        ]
      : ['the source has no key', 'give the source the same key file (--key-file)'];
  }
  if (!local.keyed && peer.keyed) {
    return src
      ? [
          'the target requires a shared key and none was given',
          'pass --key-file with the key from `smr key generate`',
        ]
      : [
          'the source holds a key but this target runs with --no-auth',
          'start the target with the same --key-file',
        ];
  }
  return null;
}
