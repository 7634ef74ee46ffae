// The sender: keeps one connection to the target, streams the journal from the target's applied
// seq, keeps at most WINDOW_BYTES unacknowledged, trims the journal on acks, reconnects with
// exponential backoff. Nothing leaves the journal before the target's durable ack.
import { SmrError, asSmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { Signal } from '../shared/signal.js';
import { MsgType, type FaultHeader, type Frame } from '../protocol/messages.js';
import type { ListEntry } from '../protocol/listing.js';
import type { Reply, TargetRequest } from '../protocol/requests.js';
import type { TaskReport } from '../protocol/tasks.js';
import type { Peer } from '../protocol/peer.js';
import type { Journal, JournalRecord } from '../journal/journal.js';
import { dial, type OpenRequest, type WireOptions } from './dial.js';
import { RateLimiter } from './rate-limit.js';
import { TargetFaultState } from './target-fault.js';
import { LinkRequests } from './link-requests.js';
import type { LinkState, TransmitState } from '../control/replies.js';

/** Bytes sent but not yet acknowledged, at most. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
const BACKOFF_START_MS = 200;
const BACKOFF_MAX_MS = 30_000;
const FAULT_RETRY_MAX_MS = 10_000; // the backoff's bound while the target reports a fault
const PING_MS = 15_000;
const DEAD_MS = 60_000;

/** What the link needs from its connection. */
export interface LinkHooks {
  open(): OpenRequest & { to: string; wire: WireOptions };
  key(): Promise<Buffer | null>;
  /** The target had no basis for `path` when it applied op `seq`: resend it whole. */
  need(path: string, seq: number): void;
  /**
   * The target acknowledged everything up to `seq`: record it (the index first, then the journal,
   * which trims; docs/INDEX.md "Acks"). Resolves once recorded.
   */
  acked(seq: number): Promise<void>;
  event(report: TaskReport): void;
  /** Called just before a record is sent (transmit-time tasks run here), and after. */
  beforeSend(rec: JournalRecord): Promise<void>;
  sent(rec: JournalRecord): void;
  /** The target reports what it could not do (attributes, names) since its last ACK. */
  refused(counts: Record<string, number>, names?: string[]): void;
  /** The target's applied seq does not fit this journal: the stream must restart (new epoch). */
  mismatch(appliedSeq: number): Promise<void>;
}

/** The link's and the transmit switch's states (as status reports them). */
export type { LinkState, TransmitState };

/** One connection's sender. */
export class Link {
  state: LinkState = 'disconnected';
  transmit: TransmitState;
  lastError: string | null = null;
  sentBytes = 0;
  wireBytes = 0;
  private peer: Peer | null = null;
  private stopped = false;
  private change = new Signal();
  /** Woken only by stop and transmit switches: new queued data must not cut a backoff short. */
  private control = new Signal();
  private limiter: RateLimiter;
  private readonly requests = new LinkRequests();
  private loopDone: Promise<void> = Promise.resolve();
  private readonly faults = new TargetFaultState(() => this.hooks.open().connection);

  constructor(
    private readonly journal: Journal,
    private readonly hooks: LinkHooks,
    transmit: TransmitState,
    bandwidth: number | null,
  ) {
    this.transmit = transmit;
    this.limiter = new RateLimiter(bandwidth);
    journal.onAppend(() => this.change.notify());
  }

  /** What the target said it cannot apply, until it acks that seq (the target is in error). */
  get targetFault(): FaultHeader | null {
    return this.faults.fault;
  }

  start(): void {
    this.loopDone = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.peer?.close();
    this.change.notify();
    this.control.notify();
    await this.loopDone;
  }

  setTransmit(t: TransmitState): void {
    this.transmit = t;
    if (t === 'stopped') this.peer?.close();
    this.change.notify();
    this.control.notify();
  }

  setBandwidth(rate: number | null): void {
    this.limiter.setRate(rate);
  }

  private async run(): Promise<void> {
    let backoff = BACKOFF_START_MS;
    while (!this.stopped) {
      if (this.transmit === 'stopped') {
        this.state = 'disconnected';
        await this.change.wait();
        continue;
      }
      this.state = 'connecting';
      try {
        const open = this.hooks.open();
        const { peer, appliedSeq } = await dial(open.to, await this.hooks.key(), open, open.wire);
        if (this.stopped) {
          peer.close();
          break;
        }
        // While the target cannot apply, each retry resends the window: back off instead.
        if (!this.faults.fault) backoff = BACKOFF_START_MS;
        this.lastError = this.faults.text;
        await this.session(peer, appliedSeq);
      } catch (err) {
        const e = asSmrError(err);
        if (this.lastError !== e.message)
          log.warn(`link ${this.hooks.open().connection}: ${e.message}`);
        this.lastError = e.message;
      }
      this.state = this.stopped ? 'disconnected' : 'connecting';
      if (this.stopped) break;
      await this.control.wait(backoff);
      backoff = Math.min(this.faults.fault ? FAULT_RETRY_MAX_MS : BACKOFF_MAX_MS, backoff * 2);
    }
    this.state = 'disconnected';
  }

  private async session(peer: Peer, appliedSeq: number): Promise<void> {
    if (appliedSeq > this.journal.lastSeq || appliedSeq < this.journal.ackedSeq) {
      log.warn(
        `target holds seq ${appliedSeq} but this queue spans ${this.journal.ackedSeq}..${this.journal.lastSeq}; restarting the stream with a remirror`,
      );
      peer.close();
      this.faults.clear();
      await this.hooks.mismatch(appliedSeq);
      return;
    }
    if (appliedSeq > this.journal.ackedSeq) await this.hooks.acked(appliedSeq);
    this.peer = peer;
    this.state = 'connected';
    const inflight: Array<[number, number]> = []; // [seq, bytes]
    let inflightBytes = 0;
    let acks = Promise.resolve();
    let lastHeard = Date.now();
    peer.onFrame((f: Frame) => {
      lastHeard = Date.now();
      if (f.type === MsgType.ACK) {
        const seq = f.header.seq;
        if (f.header.refused) this.hooks.refused(f.header.refused, f.header.names);
        while (inflight.length && (inflight[0] as [number, number])[0] <= seq)
          inflightBytes -= (inflight.shift() as [number, number])[1];
        acks = acks
          .then(() => (seq > this.journal.ackedSeq ? this.hooks.acked(seq) : undefined))
          .catch((err) => log.error(`ack ${seq}: ${err.message}`));
        if (this.faults.acked(seq)) this.lastError = null;
        this.change.notify();
      } else this.onFrame(f);
    });
    peer.on('close', () => this.change.notify());
    const ping = setInterval(() => {
      if (Date.now() - lastHeard > DEAD_MS)
        peer.close(new SmrError('unreachable', 'target stopped answering'));
      else void peer.send(MsgType.PING, {}).catch(() => undefined);
    }, PING_MS);
    const reader = this.journal.reader(appliedSeq + 1);
    try {
      while (!peer.closed && !this.stopped) {
        if (this.transmit !== 'started' || inflightBytes >= WINDOW_BYTES) {
          await this.change.wait(1000);
          continue;
        }
        const rec = await reader.next();
        if (!rec) {
          await this.change.wait(1000);
          continue;
        }
        const data = rec.data ?? Buffer.alloc(0);
        if (rec.kind === 'task') await this.hooks.beforeSend(rec);
        await this.limiter.take(rec.size);
        const wireBefore = peer.bytesOut;
        await peer.send(MsgType.OP, { seq: rec.seq, kind: rec.kind, meta: rec.meta }, data);
        inflight.push([rec.seq, rec.size]);
        inflightBytes += rec.size;
        this.sentBytes += data.length;
        this.wireBytes += peer.bytesOut - wireBefore; // after compression
        if (rec.kind === 'task') this.hooks.sent(rec);
      }
    } catch (err) {
      if (!peer.closed) throw err;
    } finally {
      clearInterval(ping);
      await reader.close();
      await acks;
      this.peer = null;
      this.requests.dropAll();
    }
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case MsgType.NEED:
        this.hooks.need(f.header.p, f.header.seq);
        return;
      case MsgType.LIST_ITEMS:
        return this.requests.onListItems(f);
      case MsgType.REPLY:
        return this.requests.onReply(f);
      case MsgType.EVENT:
        this.hooks.event(f.header);
        return;
      case MsgType.REFUSED:
        // The target names what it refused before it closes: keep that as the link's error.
        this.lastError = `target refused: ${f.header.message}`;
        log.warn(`link ${this.hooks.open().connection}: ${this.lastError}`);
        return;
      case MsgType.FAULT: // the target stopped applying and closes: keep the data, say why
        this.faults.report(f.header);
        this.lastError = this.faults.text;
        return;
      case MsgType.PONG:
        return;
      default:
        log.warn(`unexpected frame type ${f.type} from target`);
    }
  }

  /**
   * Streams the target's listing of the replica (or of its snapshot `from`, for a restore) to
   * `onItems`; needs a live connection.
   */
  listTarget(onItems: (items: ListEntry[]) => void, from?: string): Promise<number | undefined> {
    const peer = this.peer;
    if (!peer || this.state !== 'connected')
      return Promise.reject(new SmrError('unreachable', 'not connected to the target'));
    return this.requests.list(peer, onItems, from);
  }

  /** One request to the target (signatures, hashes); needs a live connection. */
  request(req: TargetRequest, body?: Buffer): Promise<Reply> {
    const peer = this.peer;
    if (!peer || this.state !== 'connected')
      return Promise.reject(new SmrError('unreachable', 'not connected to the target'));
    return this.requests.request(peer, req, body);
  }

  /** Resolves when connected (or rejects after `timeoutMs`). */
  async whenConnected(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.state !== 'connected') {
      if (Date.now() >= end)
        throw new SmrError(
          'unreachable',
          `not connected to the target${this.lastError ? `: ${this.lastError}` : ''}`,
        );
      await this.change.wait(Math.min(200, end - Date.now()));
    }
  }
}
