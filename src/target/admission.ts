// Who may wait for authentication on a target, and for how long: at most MAX_PREAUTH_CONNECTIONS
// at once, MAX_PREAUTH_PER_ADDRESS of them from one address, each for PREAUTH_DEADLINE_MS (sshd's
// MaxStartups, PerSourceMaxStartups and LoginGraceTime). Past a limit a connection is closed on
// accept, before it costs more than a socket; those refusals are counted and logged in summary.
import type net from 'node:net';
import { asSmrError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { acceptChannel, type ChannelOptions } from '../protocol/channel.js';
import {
  MAX_PREAUTH_CONNECTIONS,
  MAX_PREAUTH_PER_ADDRESS,
  PREAUTH_DEADLINE_MS,
} from '../protocol/limits.js';
import type { Peer } from '../protocol/peer.js';

const SUMMARY_EVERY_MS = 10_000;

/** The pre-authentication gate of one target. */
export class Admission {
  private waiting = 0;
  private readonly byAddress = new Map<string, number>();
  /** Connections closed on accept because a limit was reached. */
  overLimit = 0;
  private unreported = 0;
  private lastReport = 0;
  private flush: NodeJS.Timeout | null = null;

  constructor(private readonly channel: ChannelOptions) {}

  /** Authenticates a new socket: its peer, or null when refused (then closed and logged). */
  async admit(socket: net.Socket): Promise<Peer | null> {
    const addr = addressOf(socket);
    const fromAddr = this.byAddress.get(addr) ?? 0;
    if (this.waiting >= MAX_PREAUTH_CONNECTIONS || fromAddr >= MAX_PREAUTH_PER_ADDRESS) {
      socket.destroy();
      this.noteOverLimit();
      return null;
    }
    this.waiting++;
    this.byAddress.set(addr, fromAddr + 1);
    let late = false;
    const deadline = setTimeout(() => {
      late = true;
      socket.destroy();
    }, PREAUTH_DEADLINE_MS);
    try {
      return await acceptChannel(socket, this.channel);
    } catch (err) {
      const e = asSmrError(err);
      const who = `${addr}:${socket.remotePort ?? '?'}`;
      if (e.code === 'auth') log.warn(`refused connection from ${who}: ${e.message}`);
      else if (late)
        log.warn(`dropped ${who}: it did not authenticate within ${PREAUTH_DEADLINE_MS} ms`);
      else log.warn(`dropped ${who} before authentication: ${e.message}`);
      return null;
    } finally {
      clearTimeout(deadline);
      this.waiting--;
      const n = (this.byAddress.get(addr) ?? 1) - 1;
      if (n > 0) this.byAddress.set(addr, n);
      else this.byAddress.delete(addr);
    }
  }

  private noteOverLimit(): void {
    this.overLimit++;
    this.unreported++;
    if (this.flush) return;
    // The first refusal is logged at once, the ones after it in one line per interval.
    const wait = Math.max(0, this.lastReport + SUMMARY_EVERY_MS - Date.now());
    this.flush = setTimeout(() => this.report(), wait);
    this.flush.unref();
  }

  private report(): void {
    this.flush = null;
    this.lastReport = Date.now();
    log.warn(
      `closed ${this.unreported} connection(s) on accept: over ${MAX_PREAUTH_CONNECTIONS} waiting to authenticate, or ${MAX_PREAUTH_PER_ADDRESS} from one address (${this.overLimit} in all)`,
    );
    this.unreported = 0;
  }
}

/** The peer's address, an IPv4-mapped IPv6 address as plain IPv4 (one host, one count). */
function addressOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
