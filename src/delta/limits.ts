// Named sizes and limits of the delta engine. Both ends must agree on the chunker constants, so
// changing any of them means bumping SIGNATURE_FORMAT_VERSION (it travels in every signature frame).

const KiB = 1024;
const MiB = 1024 * KiB;

/** Version of the signature wire format and of the chunker constants below. */
export const SIGNATURE_FORMAT_VERSION = 1;

/** Fine block size: the unit of literal data, matching the 4 KiB pages most writers rewrite. */
export const FINE_BLOCK_SIZE = 4 * KiB;
/** Smallest and largest block size accepted from the wire or by hashBlocks. */
export const MIN_BLOCK_SIZE = 512;
export const MAX_BLOCK_SIZE = 1 * MiB;

/**
 * Mid level: content-defined chunks of about 32 KiB (min/max bound the spread). Measured on 256 MiB
 * with 1% of blocks rewritten: 32 KiB needs 195 KB of signatures, 64 KiB 229 KB, 16 KiB 230 KB.
 */
export const MID_CHUNK_MIN = 8 * KiB;
export const MID_CHUNK_AVG = 32 * KiB;
export const MID_CHUNK_MAX = 128 * KiB;

/** Coarse level: groups of mid chunks of about 1 MiB, cut at the rarer mid boundaries. */
export const COARSE_CHUNK_MIN = 256 * KiB;
export const COARSE_CHUNK_AVG = 1 * MiB;
export const COARSE_CHUNK_MAX = 4 * MiB;

/**
 * When the target bytes left unmatched by the coarse level are at most this much, the mid round trip
 * is skipped and fine signatures are asked for directly (they cost at most 3 bytes per KiB).
 */
export const MID_SKIP_BYTES = 2 * MiB;

/**
 * Fine matching rolls at most this far past a place where matching broke off (two largest mid
 * chunks: data shifted further than that is matched by the chunk levels instead).
 */
export const MAX_ROLL_BYTES = 2 * MID_CHUNK_MAX;

/** Literal data is emitted in pieces of at most this size, so memory stays flat. */
export const LITERAL_CHUNK_BYTES = 1 * MiB;

/** Fixed I/O buffer for streaming passes over files. */
export const IO_BUFFER_BYTES = 4 * MiB;
/**
 * How far a small scattered read (a literal gap, a copy from the basis) reads ahead: enough that
 * thousands of 4 KiB pieces cost a few large reads, small enough that random order stays cheap.
 */
export const READ_AHEAD_BYTES = 256 * KiB;

/** The protocol's frame limit; signature parts stay below it with room for frame headers. */
export const MAX_FRAME_BYTES = 16 * MiB;
/** Largest payload of one signature part (the rest of a frame is left for headers). */
export const SIGNATURE_PART_BYTES = MAX_FRAME_BYTES - 64 * KiB;
/** Most parts one signature may span (about 16 GiB: far above a 1 TiB file's fine signature). */
export const MAX_SIGNATURE_PARTS = 1024;
/** Most ranges one request may name. */
export const MAX_REQUEST_RANGES = 4 * 1024 * 1024;

/** Files at or below this size are sent whole (see plan.ts and docs/DELTA.md for the measurement). */
export const DELTA_MIN_FILE_BYTES = 64 * KiB;
