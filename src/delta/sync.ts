// The whole mirror exchange in one process, with every message passed through its wire encoding:
// the lead's tests and benchmark use it, and the networked version performs the same steps with a
// round trip where this one calls a function.
import { exists } from '../shared/fsutil.js';
import { applyDelta } from './patch.js';
import { buildDelta, type SignatureFetcher } from './delta.js';
import {
  coarseSignature,
  emptyCoarseSignature,
  fineSignature,
  midSignature,
  type CoarseSignature,
} from './signature.js';
import {
  decodeCoarse,
  decodeFine,
  decodeMid,
  decodeRanges,
  encodeCoarse,
  encodeFine,
  encodeMid,
  encodeRanges,
  wireBytes,
} from './wire.js';

/** What one in-process exchange cost and whether the rebuilt file was proven equal. */
export interface SyncStats {
  ok: boolean;
  /** Encoded signatures and signature requests, both directions. */
  signatureBytes: number;
  literalBytes: number;
  copyBytes: number;
  instructions: number;
  /** Signature round trips after the coarse signature (0 to 2). */
  roundTrips: number;
  /** The target's sha256 proved it already equal (outPath is still built). */
  unchanged: boolean;
  size: number;
  sha256: string;
}

/** Target side of the exchange on a local basis file; `bytes` counts what crosses the wire. */
export function localFetcher(
  basisPath: string,
  coarse: CoarseSignature,
  bytes: { n: number },
): SignatureFetcher {
  return {
    async mid(ranges) {
      const req = encodeRanges(ranges);
      const sig = encodeMid(await midSignature(basisPath, decodeRanges(req), coarse));
      bytes.n += wireBytes(req) + wireBytes(sig);
      return decodeMid(sig);
    },
    async fine(ranges, blockSize) {
      const req = encodeRanges(ranges);
      const sig = encodeFine(await fineSignature(basisPath, decodeRanges(req), blockSize));
      bytes.n += wireBytes(req) + wireBytes(sig);
      return decodeFine(sig);
    },
  };
}

/**
 * Rebuilds sourcePath's content into outPath from basisPath (missing basis = empty) via a delta.
 * `targetSha256` makes the target hash its copy into the coarse signature (proves "unchanged").
 */
export async function syncFileLocal(
  basisPath: string,
  sourcePath: string,
  outPath: string,
  options: { targetSha256?: boolean } = {},
): Promise<SyncStats> {
  const coarse = (await exists(basisPath))
    ? await coarseSignature(basisPath, { sha256: options.targetSha256 })
    : emptyCoarseSignature();
  const coarseWire = encodeCoarse(coarse);
  const bytes = { n: wireBytes(coarseWire) };
  const plan = await buildDelta(
    sourcePath,
    decodeCoarse(coarseWire),
    localFetcher(basisPath, coarse, bytes),
  );
  const result = await applyDelta(basisPath, plan.instructions, outPath, plan.size, plan.sha256);
  return {
    ok: result.ok,
    signatureBytes: bytes.n,
    literalBytes: plan.stats.literalBytes,
    copyBytes: plan.stats.copyBytes,
    instructions: plan.stats.instructions,
    roundTrips: plan.stats.roundTrips,
    unchanged: plan.unchanged,
    size: plan.size,
    sha256: plan.sha256,
  };
}
