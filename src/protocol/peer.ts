// A framed, back-pressured peer over one stream (TLS, or TCP with --insecure-no-tls), after the
// preamble. Until the handshake authenticates the other end it decodes only small frames and
// queues only a few: an unauthenticated peer gets a small fixed buffer, never a frame's 8 MiB.
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { SmrError } from '../shared/errors.js';
import type { Codec } from './compress.js';
import { FrameDecoder, encodeFrame } from './frame.js';
import { MAX_FRAME_BYTES, PREAUTH_BUFFER_BYTES, PREAUTH_MAX_QUEUED_FRAMES } from './limits.js';
import type { Frame, MsgTypeCode, WireHeaders } from './messages.js';

/**
 * Wraps a stream: decodes frames, and queues them for `recv()` or delivers them to
 * `on('frame')` once a listener is attached. Emits 'close' (with an error when the connection
 * died of one).
 */
export class Peer extends EventEmitter {
  private decoder = new FrameDecoder(PREAUTH_BUFFER_BYTES);
  private queue: Frame[] = [];
  private waiters: Array<{ resolve: (f: Frame) => void; reject: (e: Error) => void }> = [];
  private closedWith: Error | null = null;
  private corked = false;
  private authed = false;
  private codec: Codec | null = null;
  private paused = false;
  closed = false;
  /** Frame bytes sent (after compression, before TLS). */
  bytesOut = 0;

  constructor(readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new SmrError('unreachable', 'connection closed by peer')));
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** The handshake proved the other end: full-size frames from now on, compressed with `codec`. */
  authenticated(codec: Codec | null): void {
    this.authed = true;
    this.codec = codec;
    this.decoder.maxFrame = MAX_FRAME_BYTES;
    this.decoder.codecs = new Set(codec ? [codec.id] : []);
  }

  /** The codec frames are compressed with (null: none). */
  get compression(): Codec | null {
    return this.codec;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.decoder.feed(chunk);
    this.drain();
  }

  /** Delivers decoded frames until the receiver pauses or the bytes run out. */
  private drain(): void {
    try {
      for (let f = this.paused ? null : this.decoder.next(); f;) {
        this.deliver(f);
        f = this.paused || this.closed ? null : this.decoder.next();
      }
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * Stops delivering frames and reading the stream until resume(): the receiver is behind (TCP
   * then holds the sender back). Frames already received wait, undecoded.
   */
  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Delivers frames again after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.closed) return;
    this.socket.resume();
    this.drain();
  }

  /** True while paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  private deliver(f: Frame): void {
    const w = this.waiters.shift();
    if (w) w.resolve(f);
    else if (this.listenerCount('frame') > 0) this.emit('frame', f);
    else if (!this.authed && this.queue.length >= PREAUTH_MAX_QUEUED_FRAMES)
      throw new SmrError('protocol', 'too many frames before authentication');
    else this.queue.push(f);
  }

  /** Switches to push mode: queued and future frames go to `fn`. */
  onFrame(fn: (f: Frame) => void): void {
    this.on('frame', fn);
    const q = this.queue;
    this.queue = [];
    for (const f of q) fn(f);
  }

  /** Waits for the next frame (handshake and request/reply phases). */
  recv(timeoutMs: number): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== res);
        reject(
          new SmrError('timeout', `peer ${this.remote} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const res = (f: Frame): void => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({
        resolve: res,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Sends a frame; resolves at once, or after 'drain' when the socket buffer is full. */
  send<T extends MsgTypeCode>(type: T, header: WireHeaders[T], body?: Buffer): Promise<void> {
    if (this.closed)
      return Promise.reject(this.closedWith ?? new SmrError('unreachable', 'connection closed'));
    const parts = encodeFrame(type, header, body, this.codec);
    // Frames sent in the same tick leave in one writev: uncorked, every part of every frame was a
    // syscall of its own (three per frame), a large share of a small-file mirror's CPU.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    let ok = true;
    for (const p of parts) {
      ok = this.socket.write(p);
      this.bytesOut += p.length;
    }
    if (ok) return Promise.resolve();
    // 'drain' never comes once the socket is gone: settle on close too, or the sender hangs.
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = (err: Error): void => {
        this.socket.off('drain', onDrain);
        reject(err);
      };
      this.socket.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  /** Closes the connection (after flushing what was written). */
  close(err?: Error): void {
    // A graceful end lets the peer read what was written last (an AUTH it must refuse and log);
    // the socket is destroyed for good if the peer does not close its side soon.
    if (!this.closed) this.socket.end();
    this.settle(err ?? new SmrError('unreachable', 'connection closed'));
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.socket.destroy();
    this.settle(err);
  }

  private settle(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.emit('close', err);
  }
}
