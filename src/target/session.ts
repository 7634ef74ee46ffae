// One source's session on the target: handshake, open a replica, apply its stream, answer lists.
import path from 'node:path';
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { SmrError, asSmrError } from '../shared/errors.js';
import { log, emitEvent } from '../shared/log.js';
import { DurableCounter } from '../shared/durable-counter.js';
import { MsgType, type Frame } from '../protocol/messages.js';
import { HANDSHAKE_TIMEOUT_MS } from '../protocol/limits.js';
import type { Peer } from '../protocol/peer.js';
import { Confiner, resolveReplicaBase } from './confine.js';
import { Applier, type IncomingOp } from './applier.js';
import { listTree } from './listing.js';
import { wireListItem } from '../protocol/listing.js';
import { answerRequest } from './requests.js';
import type { CoarseSignature } from '../delta/index.js';
import type { ReplicaLocks } from './replica-lock.js';
import type { ModePolicy } from './mode-policy.js';
import { TaskLog, runTaskMarker, type TaskSettings } from './task-exec.js';
import type { TaskReport } from '../protocol/tasks.js';
import type { FaultHeader } from '../protocol/messages.js';
import { describeFault } from './fault.js';

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
}

function counterFile(stateDir: string, targetPath: string): string {
  const h = crypto.createHash('sha256').update(targetPath).digest('hex').slice(0, 24);
  return path.join(stateDir, 'target-replicas', `${h}.seq`);
}

/** Serves one authenticated peer until it closes. Never throws. */
export async function serveSession(peer: Peer, ctx: TargetContext): Promise<void> {
  let release: (() => void) | null = null;
  let applier: Applier | null = null;
  let counter: DurableCounter | null = null;
  try {
    const open = await peer.recv(HANDSHAKE_TIMEOUT_MS);
    if (open.type !== MsgType.OPEN)
      throw new SmrError('protocol', `expected OPEN, got frame type ${open.type}`);
    const h = open.header;
    const targetPath = String(h.targetPath ?? '');
    const connection = String(h.connection ?? '?');
    const who = `${connection}@${peer.remote}`;
    const base = await resolveReplicaBase(ctx.root, targetPath, !h.probe);
    ctx.locks.check(targetPath);
    if (h.probe) {
      await peer.send(MsgType.OPENED, { probe: true, appliedSeq: 0 });
      peer.close();
      return;
    }
    release = ctx.locks.acquire(targetPath, who);
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
    applier = new Applier(cf, counter, {
      ack: (seq) => void peer.send(MsgType.ACK, { seq }).catch(() => undefined),
      need: (p, seq) => {
        log.warn(
          `${who}: "${p}" has no valid basis on the target (seq ${seq}); asking for it whole`,
        );
        void peer.send(MsgType.NEED, { p, seq }).catch(() => undefined);
      },
      // `execute` markers run at their point in the stream; `receive` ones ran on arrival.
      task: (op) => (op.meta.on === 'execute' ? runMarker(op) : Promise.resolve()),
      failed: (err, seq) => reportFault(peer, who, describeFault(err, base, seq)),
    });
    await peer.send(MsgType.OPENED, { appliedSeq: counter.value, epoch });
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
    await pump({ peer, applier, base, runMarker, signatures: new Map() });
  } catch (err) {
    const e = asSmrError(err);
    if (e.code !== 'unreachable') log.warn(`session ${peer.remote} closed: ${e.message}`);
    if (
      !peer.closed &&
      ['path-refused', 'path-busy', 'protocol', 'frame-too-large', 'version-mismatch'].includes(
        e.code,
      )
    ) {
      await peer.send(MsgType.REFUSED, { code: e.code, message: e.message }).catch(() => undefined);
    }
    peer.close();
  } finally {
    await applier?.stop();
    await counter?.close();
    release?.();
  }
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
  base: string;
  runMarker: (op: TaskOp) => Promise<void>;
  /** The last coarse signatures sent, for the mid-level requests that follow them. */
  signatures: Map<string, CoarseSignature>;
}

function pump(sess: Sess): Promise<void> {
  const { peer } = sess;
  return new Promise((resolve) => {
    peer.on('close', (err?: Error) => {
      // A frame the decoder refused (or any other fault) ends only this session: say why.
      const e = err && asSmrError(err);
      if (e && e.code !== 'unreachable') log.warn(`session ${peer.remote} closed: ${e.message}`);
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
  const { peer, applier, base, runMarker } = sess;
  switch (f.type) {
    case MsgType.OP: {
      const op: IncomingOp = { ...f.header, body: f.body };
      // `receive` tasks run as soon as they arrive, not at their point in the stream.
      if (op.kind === 'task' && op.meta.on === 'receive' && op.seq > applier.appliedSeq) {
        void runMarker(op).catch((err) => log.error(`task: ${(err as Error).message}`));
      }
      applier.enqueue(op);
      return;
    }
    case MsgType.LIST: {
      const reqId = f.header.reqId;
      // Applying waits while the tree is walked, so the listing is the replica after `seq`.
      void applier
        .hold(async (seq) => {
          await listTree(base, (items) =>
            peer.send(MsgType.LIST_ITEMS, { reqId, items: items.map(wireListItem), done: false }),
          );
          return seq;
        })
        .then(
          (seq) => peer.send(MsgType.LIST_ITEMS, { reqId, items: [], done: true, seq }),
          (err) =>
            peer.send(MsgType.LIST_ITEMS, { reqId, items: [], done: true, error: String(err) }),
        )
        .catch(() => undefined);
      return;
    }
    case MsgType.REQUEST: {
      const reqId = f.header.reqId;
      if (sess.signatures.size > 16) sess.signatures.clear();
      const { reqId: _, ...req } = f.header;
      void answerRequest(applier.confiner, req, f.body, sess.signatures)
        .then((r) => peer.send(MsgType.REPLY, { reqId, ...r.header }, r.body))
        .catch(() => undefined);
      return;
    }
    case MsgType.PING:
      void peer.send(MsgType.PONG, {}).catch(() => undefined);
      return;
    default:
      throw new SmrError('protocol', `unexpected frame type ${f.type}`);
  }
}
