// The link's questions to the target (listings, requests) and their answers, matched by reqId:
// what is asked of a live peer, what each answer resolves, and what a dropped connection fails.
import { SmrError } from '../shared/errors.js';
import { MsgType, type FrameOf } from '../protocol/messages.js';
import type { ListEntry } from '../protocol/listing.js';
import type { Reply, TargetRequest } from '../protocol/requests.js';
import type { Peer } from '../protocol/peer.js';

type ListWaiter = {
  onItems: (items: ListEntry[]) => void;
  done: (err?: Error, seq?: number) => void;
};
type ReplyWaiter = { resolve: (r: Reply) => void; reject: (e: Error) => void };

/** Listings and requests in progress on the link's current peer. */
export class LinkRequests {
  private readonly replies = new Map<number, ReplyWaiter>();
  private readonly lists = new Map<number, ListWaiter>();
  private nextReq = 1;

  /** Streams the target's listing (of the replica, or of its snapshot `from`) to `onItems`. */
  list(
    peer: Peer,
    onItems: (items: ListEntry[]) => void,
    from?: string,
  ): Promise<number | undefined> {
    const reqId = this.nextReq++;
    // Fifos, sockets and devices too: a target that predates them ignores the flag.
    const head = from === undefined ? { reqId, specials: true } : { reqId, from, specials: true };
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null, seq?: number): void => (err ? reject(err) : resolve(seq));
      this.lists.set(reqId, { onItems, done });
      peer.send(MsgType.LIST, head).catch((err) => reject(dropped(err)));
    });
  }

  /** One request (signatures, hashes, a restore's reads). */
  request(peer: Peer, req: TargetRequest, body?: Buffer): Promise<Reply> {
    const reqId = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.replies.set(reqId, { resolve, reject });
      peer.send(MsgType.REQUEST, { reqId, ...req }, body).catch((err) => reject(dropped(err)));
    });
  }

  /** Items of a listing; its end resolves (or fails) the listing. */
  onListItems(f: FrameOf<typeof MsgType.LIST_ITEMS>): void {
    const w = this.lists.get(f.header.reqId);
    if (!w) return;
    w.onItems(f.header.items);
    if (!f.header.done) return;
    this.lists.delete(f.header.reqId);
    const err = f.header.error;
    w.done(
      err ? new SmrError('io', `target could not list the replica: ${err}`) : undefined,
      f.header.seq,
    );
  }

  /** A reply resolves its request (or fails it with the target's error). */
  onReply(f: FrameOf<typeof MsgType.REPLY>): void {
    const w = this.replies.get(f.header.reqId);
    if (!w) return;
    this.replies.delete(f.header.reqId);
    if (f.header.error) w.reject(new SmrError('io', `target: ${f.header.error}`));
    else w.resolve({ header: f.header, body: f.body });
  }

  /** The connection went: everything in progress fails as unreachable (retried by its caller). */
  dropAll(): void {
    const err = (): SmrError => new SmrError('unreachable', 'connection to the target dropped');
    for (const w of this.replies.values()) w.reject(err());
    this.replies.clear();
    for (const w of this.lists.values()) w.done(err());
    this.lists.clear();
  }
}

/** A send failed because the link went (ECONNRESET, EPIPE): "unreachable", waited out (cause D). */
export function dropped(err: unknown): SmrError {
  if (err instanceof SmrError) return err;
  return new SmrError('unreachable', `connection to the target dropped: ${(err as Error).message}`);
}
