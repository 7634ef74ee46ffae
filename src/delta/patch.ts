// Target side: rebuild a file from its old copy (the basis) and a delta stream, and prove the result
// equals the source by its sha256. A false `ok` means "resend whole"; the file is never left wrong
// because it is built in a temp file the caller renames only when ok.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { asSmrError, SmrError } from '../shared/errors.js';
import { FileHasher } from './hash.js';
import type { DeltaInstruction } from './instructions.js';
import { IO_BUFFER_BYTES, READ_AHEAD_BYTES } from './limits.js';
import { FileWindow, ReadAhead } from './reader.js';

/** Output is written in pieces of this size. */
const STAGE_BYTES = IO_BUFFER_BYTES / 2;
/** Copies at least this long stream from the basis instead of going through the window. */
const STREAM_COPY_BYTES = 1024 * 1024;

/** Result of applying a delta: ok only when size and sha256 both match what the source sent. */
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
 * Builds outPath (created or truncated; a temp file the caller owns) from the basis and the
 * instructions. Stops early with ok:false when the basis is missing or shorter than a copy needs
 * (it changed since it was signed). Malformed instruction streams throw SmrError('protocol').
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
  const out = new OutFile(await open(outPath, 'w'));
  let basis: FileWindow | null | undefined;
  let intact = true;
  try {
    for await (const ins of instructions) {
      checkInstruction(ins, out.pos, expectedSize);
      if (ins.op === 'literal') {
        await out.append(ins.data);
        continue;
      }
      basis ??= await openBasis(basisPath);
      intact = basis !== null && (await out.copyFrom(basis, ins.srcOffset, ins.length));
      if (!intact) break;
    }
    await out.finish(options.fsync === true);
  } finally {
    await out.close();
    await basis?.fh.close();
  }
  const sha256 = out.hasher.digest();
  return {
    ok: intact && out.pos === expectedSize && sha256 === expectedSha256,
    sha256,
    size: out.pos,
  };
}

// The file being rebuilt: appends in order, hashing as it goes, staged into large writes (thousands
// of 4 KiB instructions become a few writes) with one write in flight while the next stage fills.
class OutFile {
  readonly hasher = new FileHasher();
  pos = 0;
  private stageStart = 0;
  private inflight: Promise<void> = Promise.resolve();
  private readonly stages = [Buffer.allocUnsafe(STAGE_BYTES), Buffer.allocUnsafe(STAGE_BYTES)];
  private slot = 0;
  private used = 0;
  constructor(private readonly fh: FileHandle) {}

  async append(data: Uint8Array): Promise<void> {
    this.hasher.update(data);
    for (let off = 0; off < data.length;) {
      const n = Math.min(STAGE_BYTES - this.used, data.length - off);
      this.stages[this.slot]!.set(data.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === STAGE_BYTES) await this.flush();
    }
    this.pos += data.length;
  }

  // Basis [from, from + length) appended; false when the basis ends too soon. Long copies stream
  // with the next read in flight; short ones (often many, close together) share a read-ahead window.
  async copyFrom(basis: FileWindow, from: number, length: number): Promise<boolean> {
    if (length >= STREAM_COPY_BYTES) return this.streamFrom(basis, from, length);
    if (!basis.has(from, length)) {
      const ok = await basis.ensure(from, length, from + Math.max(length, READ_AHEAD_BYTES));
      if (!ok) return false;
    }
    await this.append(basis.view(from, length));
    return true;
  }

  private async streamFrom(basis: FileWindow, from: number, length: number): Promise<boolean> {
    const reader = new ReadAhead(basis.fh, from, from + length);
    try {
      let done = 0;
      for (let buf = await reader.read(); buf.length > 0; buf = await reader.read()) {
        await this.append(buf);
        done += buf.length;
      }
      return done === length;
    } finally {
      await reader.settle();
    }
  }

  async finish(fsync: boolean): Promise<void> {
    await this.flush();
    await this.inflight;
    if (fsync) await this.fh.sync();
  }

  async close(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const data = this.stages[this.slot]!.subarray(0, this.used);
    await this.inflight;
    this.inflight = handled(writeAll(this.fh, data, this.stageStart));
    this.stageStart += this.used;
    this.used = 0;
    this.slot ^= 1;
  }
}

// Instructions must tile the file in order; anything else is a broken or hostile sender.
function checkInstruction(ins: DeltaInstruction, pos: number, size: number): void {
  const len = ins.op === 'literal' ? ins.data.length : ins.length;
  const bad =
    ins.dstOffset !== pos ||
    !Number.isSafeInteger(len) ||
    len <= 0 ||
    pos + len > size ||
    (ins.op === 'copy' && (!Number.isSafeInteger(ins.srcOffset) || ins.srcOffset < 0));
  if (bad) throw new SmrError('protocol', `bad delta instruction at offset ${pos}`);
}

// Marks a promise as handled now (a failure is still thrown where it is awaited later), so a write
// failing while nobody awaits it yet is not an unhandled rejection that kills the process.
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

// null when the basis is gone: the copies cannot be served, so the delta fails (resend whole).
async function openBasis(path: string): Promise<FileWindow | null> {
  try {
    return new FileWindow(await fsp.open(path, 'r'), Number.MAX_SAFE_INTEGER);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asSmrError(err);
  }
}

async function open(path: string, flags: string): Promise<FileHandle> {
  try {
    return await fsp.open(path, flags);
  } catch (err) {
    throw asSmrError(err);
  }
}
