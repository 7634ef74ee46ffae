// Target side: rebuild a file from its old copy (the basis) and a delta, in one part or in several
// (the queue carries a big delta in parts), and prove the result equals the source by its sha256.
// The file is built in a temp file the caller renames only when the proof holds, so it is never
// left wrong: a missing or changed basis, or a wrong hash, means "resend whole".
import { constants as C, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { asSmrError, SmrError } from '../shared/errors.js';
import { FileHasher, sha256File } from './hash.js';
import type { DeltaInstruction } from './instructions.js';
import { OutFile, type StreamProof } from './out-file.js';
import { FileWindow } from './reader.js';
import { fsPath } from '../shared/name-bytes.js';

/** How one part ended. */
export type PartResult =
  /** More parts follow. */
  | { state: 'partial' }
  /** The last part: the rebuilt file, proven (ok) or not, is in outPath. */
  | { state: 'done'; ok: boolean; sha256: string; size: number }
  /** The basis is missing or shorter than a copy needs (it changed since it was signed). */
  | { state: 'no-basis' }
  /** A later part found no file to go on with (the target restarted and lost it). */
  | { state: 'no-output' };

/** One part of a rebuild. */
export interface PartOptions {
  basisPath: string;
  outPath: string;
  /** The first part creates (truncates) outPath; later ones add to it. */
  first: boolean;
  /** The last part: the size and sha256 the source announced; `finish` may set attributes. */
  end?: { size: number; sha256: string; finish?: (fh: FileHandle) => Promise<void> };
  /** fsync outPath at the end (the caller renames it into place afterwards). */
  fsync?: boolean;
}

/**
 * Rebuilds in progress, by output path: the hash of what their parts wrote so far. A part with
 * no state here (the target restarted mid-transfer) is proven by reading the file back.
 */
export class Rebuilds {
  private readonly proofs = new Map<string, StreamProof>();

  /** The proof of `outPath`'s rebuild (a new one for a first part). */
  proofFor(outPath: string, first: boolean): StreamProof {
    const fresh = { hasher: new FileHasher(), next: 0 };
    if (first) this.proofs.set(outPath, fresh);
    return this.proofs.get(outPath) ?? { hasher: fresh.hasher, next: -1 };
  }

  /** Forgets a rebuild (done, or given up). */
  drop(outPath: string): void {
    this.proofs.delete(outPath);
  }
}

/**
 * Applies one part: each instruction writes at its destination offset (copies read from the
 * basis, literals carry their bytes). The last part truncates to the announced size and proves
 * the file: from the hash taken while writing when every byte came in order, else by reading it.
 */
export async function applyDeltaPart(
  instructions: Iterable<DeltaInstruction> | AsyncIterable<DeltaInstruction>,
  o: PartOptions,
  rebuilds: Rebuilds = new Rebuilds(),
): Promise<PartResult> {
  const fh = await openOut(o.outPath, o.first);
  if (!fh) return { state: 'no-output' };
  const out = new OutFile(fh, rebuilds.proofFor(o.outPath, o.first));
  let basis: FileWindow | null | undefined;
  try {
    for await (const ins of instructions) {
      if (ins.op === 'literal') {
        await out.write(ins.dstOffset, ins.data);
        continue;
      }
      basis ??= await openBasis(o.basisPath);
      if (!basis || !(await out.copy(basis, ins.srcOffset, ins.length, ins.dstOffset))) {
        rebuilds.drop(o.outPath);
        return { state: 'no-basis' };
      }
    }
    await out.finish();
    if (o.end) {
      await fh.truncate(o.end.size);
      await o.end.finish?.(fh);
      if (o.fsync) await fh.sync();
    }
  } finally {
    await out.close();
    await basis?.fh.close();
  }
  if (!o.end) return { state: 'partial' };
  rebuilds.drop(o.outPath);
  const streamed = out.proof.next === o.end.size ? out.proof.hasher.digest() : null;
  const sha256 = streamed ?? (await sha256File(o.outPath));
  return { state: 'done', ok: sha256 === o.end.sha256, sha256, size: o.end.size };
}

/** Result of a one-shot rebuild: ok only when size and sha256 both match what the source sent. */
export interface ApplyResult {
  ok: boolean;
  sha256: string;
  size: number;
}

/** Options for applyDelta. */
export interface ApplyOptions {
  /** fsync outPath before returning (the caller renames it into place afterwards). */
  fsync?: boolean;
}

/**
 * Builds outPath (created or truncated; a temp file the caller owns) from the basis and a whole
 * delta, in one part. The instructions must tile the file in order: anything else is a broken or
 * hostile sender, SmrError('protocol'). A missing or short basis gives ok:false.
 */
export async function applyDelta(
  basisPath: string,
  instructions: AsyncIterable<DeltaInstruction>,
  outPath: string,
  expectedSize: number,
  expectedSha256: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  if (
    !Number.isSafeInteger(expectedSize) ||
    expectedSize < 0 ||
    !/^[0-9a-f]{64}$/.test(expectedSha256)
  ) {
    throw new SmrError('protocol', 'delta announces a bad size or sha256');
  }
  const end = { size: expectedSize, sha256: expectedSha256 };
  const r = await applyDeltaPart(tiling(instructions, expectedSize), {
    basisPath,
    outPath,
    first: true,
    end,
    fsync: options.fsync,
  });
  if (r.state === 'done') return { ok: r.ok, sha256: r.sha256, size: r.size };
  const written = await fsp.stat(fsPath(outPath)).then(
    (st) => st.size,
    () => 0,
  );
  return { ok: false, sha256: await sha256File(outPath).catch(() => ''), size: written };
}

// Passes instructions on while they tile [0, size) in order; throws at the first that does not.
async function* tiling(
  instructions: AsyncIterable<DeltaInstruction>,
  size: number,
): AsyncGenerator<DeltaInstruction> {
  let pos = 0;
  for await (const ins of instructions) {
    const len = ins.op === 'literal' ? ins.data.length : ins.length;
    const bad =
      ins.dstOffset !== pos ||
      !Number.isSafeInteger(len) ||
      len <= 0 ||
      pos + len > size ||
      (ins.op === 'copy' && (!Number.isSafeInteger(ins.srcOffset) || ins.srcOffset < 0));
    if (bad) throw new SmrError('protocol', `bad delta instruction at offset ${pos}`);
    pos += len;
    yield ins;
  }
}

// The output file, never through a symlink; null when a later part finds it gone.
async function openOut(path: string, first: boolean): Promise<FileHandle | null> {
  const flags = first
    ? C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW
    : C.O_WRONLY | C.O_NOFOLLOW;
  try {
    return await fsp.open(fsPath(path), flags, 0o600);
  } catch (err) {
    if (!first && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asSmrError(err);
  }
}

// null when the basis is gone (or not a plain file to read): the copies cannot be served, so the
// delta fails (resend whole).
async function openBasis(path: string): Promise<FileWindow | null> {
  try {
    return new FileWindow(
      await fsp.open(fsPath(path), C.O_RDONLY | C.O_NOFOLLOW),
      Number.MAX_SAFE_INTEGER,
    );
  } catch {
    return null;
  }
}
