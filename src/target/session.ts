// One source's session on the target: handshake, open a replica, apply its stream, answer lists.
import path from 'node:path';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { SmrError, asSmrError } from '../shared/errors.js';
import { log, emitEvent } from '../shared/log.js';
import { DurableCounter } from '../shared/durable-counter.js';
import { MsgType, type Frame } from '../protocol/messages.js';
import { HANDSHAKE_TIMEOUT_MS, SESSION_IDLE_MS } from '../protocol/limits.js';
import type { Peer } from '../protocol/peer.js';
import { Confiner, resolveReplicaBase } from './confine.js';
import { Applier, type IncomingOp } from './applier.js';
import { listTree } from './listing.js';
import { wireListItem } from '../protocol/listing.js';
import { RestoreServe } from './serve-restore.js';
import type { CoarseSignature } from '../delta/index.js';
import type { ReplicaHold, ReplicaLocks } from './replica-lock.js';
import type { ModePolicy } from './mode-policy.js';
import { TaskLog, runTaskMarker, type TaskSettings } from './task-exec.js';
import type { TaskReport } from '../protocol/tasks.js';
import type { FaultHeader } from '../protocol/messages.js';
import { describeFault } from './fault.js';
import { RequestQueue } from './request-queue.js';
import { GroupStage, stageDir } from './group-stage.js';

// Flow control of one session. A source keeps at most 8 MiB unacknowledged (its window), so a
// well-behaved one never meets these; one that ignores its window, or sends compressed frames
// that expand to megabytes each, is held back by TCP instead of filling the target's memory.
/** Body bytes waiting to be applied at which the session stops reading, and resumes. */
const QUEUE_HIGH_BYTES = 24 * 1024 * 1024;
const QUEUE_LOW_BYTES = 8 * 1024 * 1024;

/** A task marker as received. */
type TaskOp = Extract<IncomingOp, { kind: 'task' }>;

/** What every session shares: the daemon's settings and registries. */
export interface TargetContext {
  root: string;
  key: Buffer | null;
  /** TLS 1.3 on every link; false only with --insecure-no-tls. */
  tls: boolean;
  stateDir: string;
  locks: ReplicaLocks;
  tasks: TaskSettings;
  /** The setuid/setgid rule every replica's file modes pass through. */
  modes: ModePolicy;
  /** How long a session may send nothing before it is closed (SESSION_IDLE_MS unless a test says). */
  sessionIdleMs?: number;
}

function counterFile(stateDir: string, targetPath: string): string {
  const h = crypto.createHash('sha256').update(targetPath).digest('hex').slice(0, 24);
  return path.join(stateDir, 'target-replicas', `${h}.seq`);
}

/** Serves one authenticated peer until it closes. Never throws. */
export async function serveSession(peer: Peer, ctx: TargetContext): Promise<void> {
  let hold: ReplicaHold | null = null;
  let applier: Applier | null = null;
  let stage: GroupStage | null = null;
  let counter: DurableCounter | null = null;
  let sess: Sess | null = null;
  closeWhenIdle(peer, ctx.sessionIdleMs ?? SESSION_IDLE_MS);
  try {
    const open = await peer.recv(HANDSHAKE_TIMEOUT_MS);
    if (open.type !== MsgType.OPEN)
      throw new SmrError('protocol', `expected OPEN, got frame type ${open.type}`);
    const h = open.header;
    const targetPath = String(h.targetPath ?? '');
    const connection = String(h.connection ?? '?');
    const who = `${connection}@${peer.remote}`;
    const base = await resolveReplicaBase(ctx.root, targetPath, !h.probe);
    await ctx.locks.settled(targetPath); // a session of this path that ended, still closing
    ctx.locks.check(targetPath);
    if (h.probe) {
      await peer.send(MsgType.OPENED, { probe: true, appliedSeq: 0 });
      peer.close();
      return;
    }
    hold = ctx.locks.acquire(targetPath, who);
    await fsp.mkdir(path.join(ctx.stateDir, 'target-replicas'), { recursive: true, mode: 0o700 });
    counter = await DurableCounter.open(counterFile(ctx.stateDir, targetPath));
    const epoch = Number(h.epoch ?? 0);
    if (counter.tag !== epoch) await counter.set(0, epoch); // a new stream for this replica
    const cf = new Confiner(base, ctx.modes);
    const taskLog = await TaskLog.open(ctx.stateDir, targetPath);
    const report = (r: TaskReport): void => void peer.send(MsgType.EVENT, r).catch(() => undefined);
    const runMarker = (op: TaskOp): Promise<void> =>
      runTaskMarker(
        op.meta,
        { settings: ctx.tasks, log: taskLog, connection, base, seq: op.seq },
        report,
      );
    // Each ack carries what the target could not apply since the last one (status's `skipped`).
    const ack = (seq: number): void => {
      const refused = cf.refusals.takeNew();
      void peer.send(MsgType.ACK, { seq, ...refused }).catch(() => undefined);
    };
    applier = new Applier(cf, counter, {
      ack: (seq) => stage?.onApplied(seq),
      need: (p, seq) => {
        log.warn(
          `${who}: "${p}" has no valid basis on the target (seq ${seq}); asking for it whole`,
        );
        void peer.send(MsgType.NEED, { p, seq }).catch(() => undefined);
      },
      // `execute` markers run at their point in the stream; `receive` ones ran on arrival.
      task: (op) => (op.meta.on === 'execute' ? runMarker(op) : Promise.resolve()),
      failed: (err, seq) => reportFault(peer, who, describeFault(err, base, seq)),
      applied: () => sess && flow(sess),
    });
    const a = applier;
    stage = await GroupStage.open(
      stageDir(ctx.stateDir, targetPath),
      { targetPath, base, counterFile: counterFile(ctx.stateDir, targetPath), epoch },
      counter.value,
      {
        enqueue: (op) => a.enqueue(op),
        waitingBytes: () => a.waitingBytes,
        ack,
        failed: (err) => reportFault(peer, who, describeFault(err, base, a.appliedSeq)),
      },
    );
    await peer.send(MsgType.OPENED, { appliedSeq: stage.resumeSeq, epoch });
    // Outcomes the source may have missed while it was away.
    for (const r of taskLog.all()) report(r);
    log.info(`${who}: replicating into ${base} from seq ${counter.value + 1}`);
    emitEvent({
      event: 'session',
      connection,
      targetPath,
      remote: peer.remote,
      appliedSeq: counter.value,
    });
    const restore = new RestoreServe(cf); // a restore's requests, and reads of snapshots
    const requests = new RequestQueue(() => sess && flow(sess));
    sess = { peer, applier, stage, runMarker, restore, signatures: new Map(), requests };
    await pump(sess);
  } catch (err) {
    const e = asSmrError(err);
    if (e.code !== 'unreachable') log.warn(`session ${peer.remote} closed: ${e.message}`);
    // Whatever kept the replica from opening (a bad path, a busy one, a state dir it cannot
    // write), the source hears why: a bare close would leave it guessing, and retrying blind.
    if (!peer.closed && e.code !== 'unreachable' && e.code !== 'timeout')
      await peer.send(MsgType.REFUSED, { code: e.code, message: e.message }).catch(() => undefined);
    peer.close();
  } finally {
    hold?.ending();
    const stopped = (): boolean => applier?.failure !== null;
    await stage?.drain(stopped);
    await stage?.close();
    await applier?.stop();
    await counter?.close();
    hold?.release();
  }
}

/**
 * Closes a session that sent nothing for `ms` (a source pings every 15 s): one that vanished
 * without a FIN, or stalled in the middle of a frame, would otherwise hold its replica for good.
 */
function closeWhenIdle(peer: Peer, ms: number): void {
  peer.socket.setTimeout(ms, () => {
    const span = ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
    peer.close(new SmrError('timeout', `the source sent nothing for ${span}; closing its session`));
  });
}

/**
 * Applying stopped (a full disk, EIO, ...): say why in the log and to the source, whose status
 * shows it while it keeps the data queued and retries; then end the session (the source
 * reconnects and resends from the last durable seq).
 */
function reportFault(peer: Peer, who: string, fault: FaultHeader): void {
  log.error(`${who}: ${fault.message}`);
  void peer.send(MsgType.FAULT, fault).catch(() => undefined);
  peer.close();
}

/** What one live session's frame handling works with. */
interface Sess {
  peer: Peer;
  applier: Applier;
  /** Crash mode: ops after a group marker are staged and applied a group at a time. */
  stage: GroupStage;
  runMarker: (op: TaskOp) => Promise<void>;
  /** Answers every REQUEST, and says which directory a LIST reads (serve-restore.ts). */
  restore: RestoreServe;
  /** The last coarse signatures sent, for the mid-level requests that follow them. */
  signatures: Map<string, CoarseSignature>;
  /** Requests and listings being answered, and waiting their turn. */
  requests: RequestQueue;
}

/** Stops reading from the source while too much waits to be applied or answered; resumes after. */
function flow(sess: Sess): void {
  const { peer, applier } = sess;
  const busy = sess.requests.full;
  if (!peer.isPaused && (busy || applier.waitingBytes >= QUEUE_HIGH_BYTES)) peer.pause();
  else if (peer.isPaused && !busy && applier.waitingBytes <= QUEUE_LOW_BYTES) peer.resume();
}

function pump(sess: Sess): Promise<void> {
  const { peer } = sess;
  return new Promise((resolve) => {
    peer.on('close', (err?: Error) => {
      // A frame the decoder refused (or any other fault) ends only this session: say why.
      const e = err && asSmrError(err);
      if (e && e.code !== 'unreachable') log.warn(`session ${peer.remote} closed: ${e.message}`);
      sess.restore.close();
      sess.requests.close();
      resolve();
    });
    peer.onFrame((f: Frame) => {
      try {
        handleFrame(sess, f);
      } catch (err) {
        peer.close(err as Error); // logged by the close handler above
      }
    });
  });
}

function handleFrame(sess: Sess, f: Frame): void {
  const { peer, applier, runMarker } = sess;
  switch (f.type) {
    case MsgType.OP: {
      const op: IncomingOp = { ...f.header, body: f.body };
      // `receive` tasks run as soon as they arrive, not at their point in the stream.
      if (op.kind === 'task' && op.meta.on === 'receive' && op.seq > applier.appliedSeq) {
        void runMarker(op).catch((err) => log.error(`task: ${(err as Error).message}`));
      }
      if (!sess.stage.accept(op)) applier.enqueue(op);
      flow(sess);
      return;
    }
    case MsgType.LIST: {
      const { reqId, from, specials } = f.header;
      // Applying waits while the tree is walked, so the listing is the replica after `seq`.
      const listing = (): Promise<unknown> =>
        applier
          .hold(async (seq) => {
            await listTree(
              await sess.restore.baseFor(from),
              (items) =>
                peer.send(MsgType.LIST_ITEMS, {
                  reqId,
                  items: items.map(wireListItem),
                  done: false,
                }),
              specials === true,
            );
            return seq;
          })
          .then(
            (seq) => peer.send(MsgType.LIST_ITEMS, { reqId, items: [], done: true, seq }),
            (err) =>
              peer.send(MsgType.LIST_ITEMS, { reqId, items: [], done: true, error: String(err) }),
          )
          .catch(() => undefined);
      sess.requests.add(listing, 64);
      return;
    }
    case MsgType.REQUEST: {
      const reqId = f.header.reqId;
      const { reqId: _, ...req } = f.header;
      const answer = (): Promise<unknown> => {
        if (sess.signatures.size > 16) sess.signatures.clear();
        return sess.restore
          .answer(req, f.body, sess.signatures)
          .then((r) => peer.send(MsgType.REPLY, { reqId, ...r.header }, r.body))
          .catch(() => undefined);
      };
      // What it holds while it waits: its body, and its header (a `sums` names many paths).
      sess.requests.add(answer, f.body.length + JSON.stringify(req).length);
      return;
    }
    case MsgType.PING:
      void peer.send(MsgType.PONG, {}).catch(() => undefined);
      return;
    default:
      throw new SmrError('protocol', `unexpected frame type ${f.type}`);
  }
}
