// The delta engine run backwards, for a restore: the target holds the file the source wants (the
// replica's), the source holds the basis (its own copy). The source sends its basis's coarse
// signature; buildDelta runs here exactly as it runs on a source for a mirror, and each time it
// needs a finer signature of the basis, the reply to the request in hand asks for it (`need`) and
// the source's next request brings it. The instructions then go back part by part (`next`).
import {
  buildDelta,
  decodeCoarse,
  decodeFine,
  decodeMid,
  encodeRanges,
  type ByteRange,
  type DeltaInstruction,
  type DeltaPlan,
} from '../delta/index.js';
import { CHUNK_BYTES } from '../protocol/limits.js';
import { wireDeltaOp, type WireDeltaOp } from '../protocol/ops.js';
import type { WireReplyHeader } from '../protocol/requests.js';
import { MAX_RDELTA_BUILDS, MAX_RDELTA_OPS } from '../protocol/restore-requests.js';
import { asSmrError, SmrError } from '../shared/errors.js';

/** A reply's header (without its reqId) and body. */
export type Answer = { header: Omit<WireReplyHeader, 'reqId'>; body?: Buffer };

/** A one-slot mailbox: `put` hands a value to the next (or waiting) `take`. */
class Slot<T> {
  private value: T[] = [];
  private waiter: ((v: T) => void) | null = null;

  put(v: T): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w(v);
    else this.value.push(v);
  }

  take(): Promise<T> {
    const v = this.value.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

const joined = (parts: Buffer[]): Buffer => Buffer.concat(parts);
const failed = (err: unknown): Answer => ({ header: { error: asSmrError(err).message } });

/** One file's reverse delta, from the source's coarse signature to the last part. */
class Build {
  private readonly answers = new Slot<Answer>();
  private readonly signatures = new Slot<Buffer | null>();
  private plan: DeltaPlan | null = null;
  private ended = false;

  constructor(abs: string, coarse: Buffer) {
    void this.run(abs, coarse);
  }

  private async run(abs: string, coarse: Buffer): Promise<void> {
    try {
      const plan = await buildDelta(abs, decodeCoarse(coarse), {
        mid: async (r) => decodeMid(await this.ask({ need: 'mid' }, r)),
        fine: async (r, blockSize) => decodeFine(await this.ask({ need: 'fine', blockSize }, r)),
      });
      this.plan = plan;
      this.answers.put(await this.part());
    } catch (err) {
      this.answers.put(failed(err));
    }
  }

  /** Answers the request in hand with `need`; resolves with the signature the next one brings. */
  private async ask(header: Answer['header'], ranges: readonly ByteRange[]): Promise<Buffer> {
    this.answers.put({ header, body: joined(encodeRanges(ranges)) });
    const sig = await this.signatures.take();
    if (!sig) throw new SmrError('usage', 'the source ended this rebuild');
    return sig;
  }

  /** The answer to `start`, or to a request that brings a signature the build asked for. */
  answer(signature?: Buffer): Promise<Answer> {
    if (signature) this.signatures.put(signature);
    return this.answers.take();
  }

  /** The next part of the instructions (literals at most CHUNK_BYTES, ops at most MAX_RDELTA_OPS). */
  async part(): Promise<Answer> {
    const plan = this.plan;
    if (!plan || this.ended) return failed(new SmrError('usage', 'no part to send'));
    if (plan.unchanged) {
      this.ended = true;
      return { header: { done: true, unchanged: true, size: plan.size, sha256: plan.sha256 } };
    }
    const ops: WireDeltaOp[] = [];
    const data: Buffer[] = [];
    let bytes = 0;
    while (ops.length < MAX_RDELTA_OPS && bytes < CHUNK_BYTES) {
      const next = await plan.instructions.next();
      if (next.done) {
        this.ended = true;
        const end = { done: true, size: plan.size, sha256: plan.sha256 };
        return { header: { ops, ...end }, body: Buffer.concat(data) };
      }
      const ins: DeltaInstruction = next.value;
      if (ins.op === 'copy') ops.push(wireDeltaOp(ins));
      else {
        ops.push(wireDeltaOp({ op: 'literal', dstOffset: ins.dstOffset, length: ins.data.length }));
        data.push(ins.data);
        bytes += ins.data.length;
      }
    }
    return { header: { ops }, body: Buffer.concat(data) };
  }

  /** Gives the build up: a waiting fetch fails, the replica file is closed. */
  close(): void {
    this.ended = true;
    this.signatures.put(null);
    void this.plan?.instructions.return(undefined).catch(() => undefined);
  }
}

/** The reverse deltas of one session, by the id the source gave each. */
export class ReverseDeltas {
  private readonly builds = new Map<number, Build>();

  /** `start`: a new build of the replica file `abs` against the basis described by `coarse`. */
  start(id: number, abs: string, coarse: Buffer): Promise<Answer> {
    this.end(id);
    if (this.builds.size >= MAX_RDELTA_BUILDS) {
      const oldest = this.builds.keys().next().value as number;
      this.end(oldest);
    }
    const b = new Build(abs, coarse);
    this.builds.set(id, b);
    return this.settle(id, b.answer());
  }

  /** `mid` / `fine`: the signature the build asked for; `next`: the next part. */
  step(id: number, step: 'mid' | 'fine' | 'next', body: Buffer): Promise<Answer> {
    const b = this.builds.get(id);
    if (!b) return Promise.resolve(failed(new SmrError('usage', `no rebuild ${id} in progress`)));
    return this.settle(id, step === 'next' ? b.part() : b.answer(body));
  }

  /** `end`, or the session closed: the build is dropped. */
  end(id: number): void {
    this.builds.get(id)?.close();
    this.builds.delete(id);
  }

  /** Drops every build (the session ended). */
  close(): void {
    for (const id of [...this.builds.keys()]) this.end(id);
  }

  // A build that answered its last part (or failed) is done with: forget it.
  private async settle(id: number, answer: Promise<Answer>): Promise<Answer> {
    const a = await answer;
    if (a.header.done || a.header.error) this.end(id);
    return a;
  }
}
