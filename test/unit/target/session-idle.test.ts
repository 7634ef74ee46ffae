// A session whose source goes silent — vanished without a FIN, or stalled in the middle of a
// frame — is closed after the idle limit, and its replica is free for the next session (found by
// the fuzz harness: a half-sent frame held its replica, "path-busy", for good).
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Peer } from '../../../src/protocol/peer.js';
import { FrameDecoder, encodeFrame } from '../../../src/protocol/frame.js';
import { MsgType, type Frame } from '../../../src/protocol/messages.js';
import { serveSession, type TargetContext } from '../../../src/target/session.js';
import { ReplicaLocks } from '../../../src/target/replica-lock.js';
import { ModePolicy } from '../../../src/target/mode-policy.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A target serving plaintext sessions on loopback with `ctx`; resolves with its port. */
async function serve(ctx: TargetContext): Promise<number> {
  const server = net.createServer((socket) => {
    const peer = new Peer(socket);
    peer.authenticated(null); // as after the handshake
    void serveSession(peer, ctx);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** A client that OPENs `targetPath` and collects the frames the target sends. */
async function openReplica(port: number, targetPath: string) {
  const s = net.connect({ host: '127.0.0.1', port });
  cleanups.push(() => void s.destroy());
  const frames: Frame[] = [];
  const dec = new FrameDecoder();
  s.on('data', (d: Buffer) => frames.push(...dec.push(d)));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.once('connect', () => r()));
  const open = { connection: 'web', targetPath, epoch: 1, sourceId: 'test' };
  for (const b of encodeFrame(MsgType.OPEN, open)) s.write(b);
  while (!frames.some((f) => f.type === MsgType.OPENED || f.type === MsgType.REFUSED))
    await new Promise((r) => setTimeout(r, 5));
  return { s, frames, closed };
}

describe('an idle session', () => {
  it('is closed after the idle limit, mid-frame, and frees its replica', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-idle-'));
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    await fsp.mkdir(path.join(dir, 'root'));
    const ctx: TargetContext = {
      root: path.join(dir, 'root'),
      key: null,
      tls: false,
      stateDir: path.join(dir, 'state'),
      locks: new ReplicaLocks(),
      tasks: { stateDir: dir, allowTasks: false, tasksDir: null, replicaRoot: dir },
      modes: new ModePolicy(false),
      sessionIdleMs: 2000, // well above the time an OPEN takes on a busy machine
    };
    const port = await serve(ctx);
    const first = await openReplica(port, 'web');
    expect(first.frames.map((f) => f.type)).toEqual([MsgType.OPENED]);
    // Half a frame: a length prefix saying 100 bytes, and 3 of them. Then nothing.
    first.s.write(Buffer.from([0, 0, 0, 100, MsgType.OP, 0, 0]));
    const busy = await openReplica(port, 'web');
    expect(busy.frames.at(-1)?.type).toBe(MsgType.REFUSED);
    await first.closed; // the idle limit closes it
    // Reopened at once: the closed session may still be closing (its applier, its counter); the
    // new one waits for it instead of being told path-busy by the source's own old session.
    const next = await openReplica(port, 'web');
    expect(next.frames.map((f) => f.type)).toEqual([MsgType.OPENED]);
  });

  it('stays open while the source keeps talking', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-idle-'));
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    const ctx: TargetContext = {
      root: dir,
      key: null,
      tls: false,
      stateDir: path.join(dir, 'state'),
      locks: new ReplicaLocks(),
      tasks: { stateDir: dir, allowTasks: false, tasksDir: null, replicaRoot: dir },
      modes: new ModePolicy(false),
      sessionIdleMs: 1000,
    };
    const c = await openReplica(await serve(ctx), 'web');
    // Three idle limits long, a PING every tenth of one.
    for (let i = 0; i < 30; i++) {
      for (const b of encodeFrame(MsgType.PING, {})) c.s.write(b);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(c.s.destroyed).toBe(false);
    // The last PONG may still be on its way on a busy machine: wait for it (or the close).
    const pongs = () => c.frames.filter((f) => f.type === MsgType.PONG).length;
    while (pongs() < 30 && !c.s.destroyed) await new Promise((r) => setTimeout(r, 20));
    expect(pongs()).toBe(30);
    expect(c.s.destroyed).toBe(false);
  });
});
