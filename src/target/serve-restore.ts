// The target's side of a restore, one per session: it answers the restore's requests (`meta`,
// `rdelta`, `snapshots`) and sends every request and listing that names a snapshot (`from`) to
// that snapshot's directory instead of the replica. Read-only: it never writes under --root.
import type { CoarseSignature } from '../delta/index.js';
import type { TargetRequest } from '../protocol/requests.js';
import type { RestoreRequest } from '../protocol/restore-requests.js';
import { asSmrError, SmrError } from '../shared/errors.js';
import { Confiner } from './confine.js';
import { metaBody } from './replica-meta.js';
import { answerRequest, type ReplicaRequest } from './requests.js';
import { ReverseDeltas, type Answer } from './reverse-delta.js';
import { snapshotBase, snapshotNamesOf } from './snapshot-base.js';

function isRestoreRequest(r: TargetRequest): r is RestoreRequest {
  return r.op === 'meta' || r.op === 'rdelta' || r.op === 'snapshots';
}

/** Restore requests and snapshot reads of one session. */
export class RestoreServe {
  private readonly deltas = new ReverseDeltas();

  /** `replica`: the session's confiner of the replica (its base is the replica's directory). */
  constructor(private readonly replica: Confiner) {}

  /** The directory a listing or request reads: the replica, or snapshot `from` of it. */
  async baseFor(from: string | undefined): Promise<string> {
    return from === undefined ? this.replica.base : snapshotBase(this.replica.base, from);
  }

  /** Answers any request: the restore's here, the others (read from `from` if named) by requests.ts. */
  async answer(
    req: TargetRequest,
    body: Buffer,
    cache: Map<string, CoarseSignature>,
  ): Promise<Answer> {
    try {
      if (isRestoreRequest(req)) return await this.restoreAnswer(req, body);
      const from = req.op === 'sums' ? req.from : undefined;
      return await answerRequest(await this.confinerFor(from), req as ReplicaRequest, body, cache);
    } catch (err) {
      return { header: { error: asSmrError(err).message } };
    }
  }

  /** The session ended: every rebuild in progress is dropped. */
  close(): void {
    this.deltas.close();
  }

  private async confinerFor(from: string | undefined): Promise<Confiner> {
    if (from === undefined) return this.replica;
    return new Confiner(await this.baseFor(from), this.replica.modes);
  }

  private async restoreAnswer(req: RestoreRequest, body: Buffer): Promise<Answer> {
    switch (req.op) {
      case 'snapshots':
        return { header: { names: await snapshotNamesOf(this.replica.base) } };
      case 'meta':
        return { header: {}, body: await metaBody(await this.confinerFor(req.from), req.paths) };
      case 'rdelta':
        if (req.step === 'end') {
          this.deltas.end(req.id);
          return { header: {} };
        }
        if (req.step !== 'start') return this.deltas.step(req.id, req.step, body);
        if (req.p === undefined) throw new SmrError('protocol', 'rdelta start names no path');
        return this.deltas.start(
          req.id,
          await (await this.confinerFor(req.from)).resolve(req.p),
          body,
        );
    }
  }
}
