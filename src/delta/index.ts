// The delta engine's public surface: block hashes for capture, hierarchical signatures, delta
// build/apply, the whole-vs-delta decision and the wire encoding of signatures.
export {
  blockHash,
  FileHasher,
  fileSha256,
  initHash,
  sha256File,
  StreamBlockHasher,
} from './hash.js';
export { hashPool, HashPool, type SeenStat, type SmallHashed, type SmallSum } from './hash-pool.js';
export { changedBlocks, hashBlocks, hashSmallStat, type BlockHashes } from './blocks.js';
export {
  coarseSignature,
  emptyCoarseSignature,
  fineBlockCount,
  fineSignature,
  midSignature,
  type CoarseSignature,
  type FineSignature,
  type MidSignature,
} from './signature.js';
export type { ChunkList } from './chunks.js';
export { weakChecksum } from './rolling.js';
export { buildDelta, type DeltaPlan, type SignatureFetcher } from './delta.js';
export type { DeltaInstruction, DeltaStats } from './instructions.js';
export {
  applyDelta,
  applyDeltaPart,
  Rebuilds,
  type ApplyOptions,
  type ApplyResult,
  type PartOptions,
  type PartResult,
} from './patch.js';
export { DELTA_ROUND_TRIPS, shouldSendWhole, type WholeFileOptions } from './plan.js';
export { localFetcher, syncFileLocal, type SyncStats } from './sync.js';
export {
  decodeCoarse,
  decodeFine,
  decodeMid,
  decodeRanges,
  encodeCoarse,
  encodeFine,
  encodeMid,
  encodeRanges,
  WireKind,
  wireBytes,
} from './wire.js';
export { alignRanges, mergeRanges, type ByteRange } from './ranges.js';
export * from './limits.js';
