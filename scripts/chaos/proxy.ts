// A loopback TCP proxy between the source and the target that can reset every connection (RST)
// or stall them (nothing forwarded, nothing read, like a black-holed path) and heal again.
import net from 'node:net';

/** One proxied connection: the source's socket and the one to the target. */
interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

/** The proxy of one chaos run. */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private stalled = false;
  private server: net.Server | null = null;
  /** Connections accepted so far (the source dials again after each fault). */
  accepted = 0;

  private constructor(private readonly targetPort: number) {}

  /** Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const p = new FaultProxy(targetPort);
    p.server = net.createServer((client) => p.accept(client));
    await new Promise<void>((resolve) => p.server?.listen(0, '127.0.0.1', () => resolve()));
    return p;
  }

  get port(): number {
    return (this.server?.address() as net.AddressInfo).port;
  }

  /** Resets every live connection (both sides get an RST); returns how many were cut. */
  reset(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) this.drop(pair, true);
    return n;
  }

  /** Stops forwarding on every connection, the live ones and those accepted until heal(). */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again after a stall. */
  heal(): void {
    this.stalled = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Live connections. */
  get live(): number {
    return this.pairs.size;
  }

  /** Resolves once a connection is live, or after `ms` (the source may be down or backing off). */
  async waitLive(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.pairs.size === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair, false);
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => this.drop(pair, false));
    }
  }

  /** Forwards `from` to `to`, with back-pressure, never while stalled. */
  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (d: Buffer) => {
      if (!to.write(d)) from.pause();
    });
    to.on('drain', () => {
      if (!this.stalled) from.resume();
    });
  }

  private drop(pair: Pair, rst: boolean): void {
    if (!this.pairs.delete(pair)) return;
    for (const s of [pair.client, pair.upstream]) {
      if (s.destroyed) continue;
      // An RST needs an established socket; one still connecting is simply destroyed.
      if (rst && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
