// One round of fuzz against one target: a connection that never authenticates (random bytes,
// damaged handshakes), an authenticated session fed frames the decoder must refuse, or an
// authenticated session fed a burst of ops and requests the decoder accepts but that are hostile to
// the target. Each round ends in a check that the target still answers (or closed only this
// connection); a round whose connection neither answers nor closes in time is a hang.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Rng } from '../lib/rng.js';
import { Conn, T, frame, preamble, type CodecName } from './wire.js';
import { floodOp, hostileOp, refusedFrame, request } from './frames.js';
import * as V from './values.js';

/** What a round did. */
export interface RoundResult {
  frames: number;
  /** Set when the target neither answered nor closed the connection in time. */
  hang?: string;
  /** The target closed the connection (after a frame it refused, or a fault it reported). */
  closed: boolean;
  faults: number;
}

/** A target as rounds see it. */
export interface Endpoint {
  name: string;
  port: number;
  tls: boolean;
  key: Buffer;
  root: string;
  /** A real ClientHello of this smr's TLS, to damage. */
  clientHello: Buffer;
}

/** How long a target may take to answer a probe before the round counts as a hang. */
export const ANSWER_MS = 60_000;
/** How long a connection that never authenticates may stay open (deadline 5 s, plus slack). */
const PREAUTH_CLOSE_MS = 15_000;

/** Preamble, TLS and the proofs, with a codec offered; null when the target refused. */
async function authenticate(
  ep: Endpoint,
  rng: Rng,
): Promise<{ c: Conn; codec: CodecName | 'none' } | null> {
  const c = await Conn.open(ep.port);
  c.write(preamble(ep.tls));
  if (ep.tls && !(await c.startTls(ep.key))) return (c.destroy(), null);
  const offer = rng.pick([[], ['zstd'], ['lz4'], ['lz4', 'zstd']] as CodecName[][]);
  const codec = await c.authenticate(ep.key, offer);
  if (codec === false) return (c.destroy(), null);
  return { c, codec };
}

/** OPEN a replica; resolves with the applied seq, or null when refused or closed. */
async function open(c: Conn, replica: string, epoch: number): Promise<number | null> {
  const from = c.frames.length;
  c.write(frame(T.OPEN, { connection: replica, targetPath: replica, epoch, sourceId: 'fuzz' }));
  const f = await c.frameOf([T.OPENED, T.REFUSED], ANSWER_MS, from);
  return f?.type === T.OPENED && f.header ? Number(f.header.appliedSeq) : null;
}

/** Opens `replica`, retrying while the previous session on it ends; null: it never freed. */
async function openSession(ep: Endpoint, rng: Rng, replica: string, epoch: number) {
  const end = Date.now() + ANSWER_MS;
  while (Date.now() < end) {
    const a = await authenticate(ep, rng);
    if (!a) return { error: 'the target refused a correct handshake' };
    const seq = await open(a.c, replica, epoch);
    if (seq !== null) return { ...a, seq };
    const busy = a.c.frames.some((f) => f.type === T.REFUSED && f.header?.code === 'path-busy');
    a.c.destroy();
    if (!busy)
      return { error: `OPEN ${replica} was refused: ${JSON.stringify(a.c.frames.at(-1))}` };
    await new Promise((r) => setTimeout(r, 50));
  }
  return { error: `${replica} stayed busy for ${ANSWER_MS / 1000} s after its last session` };
}

/** Bytes that complete any frame the target may still be reading (the largest, plus a prefix). */
const FLUSH_BYTES = 4 + 1 + 4 + 256 * 1024 + 8 * 1024 * 1024 + 9;

/**
 * PING after refused frames: a PONG, or the connection closed. A damaged length prefix may leave
 * the target waiting for the rest of a frame (it closes such a session when it stays idle, after
 * 90 s): the harness then sends zeros enough to complete it, after which the target must answer
 * or close. Anything else is a hang.
 */
async function answers(c: Conn, what: string): Promise<string | undefined> {
  const from = c.frames.length;
  const pong = (): boolean => c.frames.slice(from).some((f) => f.type === T.PONG);
  c.write(frame(T.PING, {}));
  if (await c.until(pong, 10_000)) return undefined;
  c.write(Buffer.alloc(FLUSH_BYTES));
  c.write(frame(T.PING, {}));
  return (await c.until(pong, ANSWER_MS))
    ? undefined
    : `no PONG and no close ${ANSWER_MS / 1000} s after ${what}`;
}

/** A connection that never authenticates: it must be closed by the target, soon. */
export async function preauthRound(ep: Endpoint, rng: Rng): Promise<RoundResult> {
  const c = await Conn.open(ep.port, `127.0.0.${2 + rng.int(50)}`).catch(() => null);
  if (!c) return { frames: 1, closed: true, faults: 0 }; // refused on accept: fine
  let frames = 1;
  switch (rng.int(5)) {
    case 0:
      c.write(rng.bytes(rng.range(1, 600)));
      break;
    case 1:
      c.write(V.mutateBytes(preamble(ep.tls), rng));
      c.write(rng.bytes(rng.int(300)));
      frames++;
      break;
    case 2: // a damaged ClientHello (TLS), or handshake frames in the clear
      c.write(preamble(ep.tls));
      c.write(ep.tls ? V.mutateBytes(ep.clientHello, rng) : V.mutateBytes(helloFrame(rng), rng));
      frames++;
      break;
    case 3: // inside TLS, before the proofs: frames too large, compressed, odd, or many
      c.write(preamble(ep.tls));
      if (ep.tls && !(await c.startTls(ep.key))) break;
      for (let i = rng.range(1, 6); i > 0; i--, frames++) c.write(preauthFrame(rng));
      break;
    default: // a wrong proof, then more
      c.write(preamble(ep.tls));
      if (ep.tls && !(await c.startTls(ep.key))) break;
      c.write(frame(T.HELLO, { nonce: 'ab'.repeat(32), compress: ['zstd'] }));
      await c.frameOf([T.CHALLENGE], 10_000);
      c.write(frame(T.AUTH, V.mutateJson({ proof: 'cd'.repeat(32) }, rng)));
      c.write(frame(T.OPEN, { connection: 'x', targetPath: 'pwn', epoch: 1, sourceId: 'x' }));
      frames += 3;
  }
  const closed = await c.until(() => false, PREAUTH_CLOSE_MS);
  c.destroy();
  return {
    frames,
    closed,
    faults: 0,
    hang: closed
      ? undefined
      : `an unauthenticated connection stayed open ${PREAUTH_CLOSE_MS / 1000} s`,
  };
}

function helloFrame(rng: Rng): Buffer {
  return frame(T.HELLO, V.mutateJson({ nonce: 'ab'.repeat(32), compress: ['zstd'] }, rng));
}

function preauthFrame(rng: Rng): Buffer {
  switch (rng.int(4)) {
    case 0:
      return helloFrame(rng);
    case 1:
      return frame(T.HELLO, { nonce: 'x'.repeat(rng.pick([100, 9000, 70_000])) });
    case 2:
      return V.mutateBytes(frame(T.HELLO, { nonce: 'ab'.repeat(32) }), rng);
    default:
      return rng.bytes(rng.range(1, 64));
  }
}

/** An authenticated session fed frames its decoder must refuse (or, damaged, may still take). */
export async function decoderRound(
  ep: Endpoint,
  rng: Rng,
  replica: string,
  epoch: number,
): Promise<RoundResult> {
  if (rng.chance(0.15)) return hostileOpenRound(ep, rng);
  const s = await openSession(ep, rng, replica, epoch);
  if ('error' in s) return { frames: 1, closed: true, faults: 0, hang: s.error };
  let frames = 0;
  for (let i = rng.range(1, 4), seq = s.seq + 1; i > 0 && !s.c.closed; i--, frames++)
    s.c.write(refusedFrame(rng, seq++, s.codec));
  const hang = await answers(s.c, 'refused frames');
  const closed = s.c.closed;
  s.c.destroy();
  return { frames, closed, hang, faults: 0 };
}

/** OPEN with hostile fields or target paths: refused, or a replica made inside the root. */
async function hostileOpenRound(ep: Endpoint, rng: Rng): Promise<RoundResult> {
  const a = await authenticate(ep, rng);
  if (!a)
    return { frames: 1, closed: true, faults: 0, hang: 'the target refused a correct handshake' };
  const good = { connection: 'evil', targetPath: V.path(rng), epoch: rng.int(1000), sourceId: 'x' };
  const h = rng.chance(0.5) ? { ...good, probe: rng.chance(0.5) } : V.mutateJson(good, rng);
  a.c.write(frame(T.OPEN, h));
  const f = await a.c.frameOf([T.OPENED, T.REFUSED], ANSWER_MS);
  const hang = f || a.c.closed ? undefined : `no answer to OPEN ${JSON.stringify(h).slice(0, 200)}`;
  a.c.destroy();
  return { frames: 1, closed: true, faults: 0, hang };
}

/** An authenticated session fed a burst of accepted-but-hostile frames, then a probe op. */
export async function burstRound(
  ep: Endpoint,
  rng: Rng,
  replica: string,
  epoch: number,
  maxFrames: number,
): Promise<RoundResult> {
  const s = await openSession(ep, rng, replica, epoch);
  if ('error' in s) return { frames: 1, closed: true, faults: 0, hang: s.error };
  const c = s.c;
  let seq = s.seq;
  let frames = 0;
  let reqId = 1;
  const flood = rng.chance(0.05); // ops of 8 MiB with no regard for acks, or zstd bombs
  const n = Math.min(maxFrames, flood ? rng.range(20, 80) : rng.range(20, 250));
  for (let i = 0; i < n && !c.closed; i++, frames++) {
    const r = rng.next();
    if (flood) c.write(floodOp(rng, ++seq, s.codec));
    else if (r < 0.8) c.write(hostileOp(rng, ++seq, s.codec));
    else if (r < 0.9) c.write(request(rng, reqId++));
    else if (r < 0.93) c.write(frame(T.LIST, { reqId: reqId++ }));
    else if (r < 0.96) c.write(frame(T.PING, {}));
    else if (r < 0.997)
      c.write(
        frame(T.OP, {
          seq: Math.max(1, rng.pick([seq, seq - 5, 1])),
          kind: 'mkdir',
          meta: { p: 'dup' },
        }),
      );
    else c.write(frame(T.OP, { seq: seq + rng.range(2, 9), kind: 'mkdir', meta: { p: 'gap' } })); // ends it
    if (i % 16 === 15 && !(await c.flushed(ANSWER_MS))) {
      c.destroy();
      return {
        frames,
        closed: false,
        faults: 0,
        hang: `the target read nothing for ${ANSWER_MS / 1000} s`,
      };
    }
  }
  // The probe: a plain op after the burst must be acknowledged, unless the target said why not.
  const probe = ++seq;
  c.write(frame(T.OP, { seq: probe, kind: 'mkdir', meta: { p: `probe-${probe}`, mode: 0o755 } }));
  frames++;
  const done = await c.until(
    () =>
      c.frames.some(
        (f) => (f.type === T.ACK && Number(f.header?.seq) >= probe) || f.type === T.FAULT,
      ),
    ANSWER_MS,
  );
  const faults = c.frames.filter((f) => f.type === T.FAULT).length;
  const hang = done
    ? undefined
    : `no ACK of the probe op (seq ${probe}), no FAULT and no close after ${frames} frames`;
  const closed = c.closed;
  c.destroy();
  return { frames, closed, hang, faults };
}

/** A canary: a real op on a replica of its own, acknowledged and on disk within the deadline. */
export async function canary(ep: Endpoint, rng: Rng, n: number): Promise<string | undefined> {
  const s = await openSession(ep, rng, 'canary', 1);
  if ('error' in s) return `canary ${n}: ${s.error}`;
  const seq = s.seq + 1;
  const text = `canary ${n}\n`;
  const meta = {
    p: 'canary.txt',
    off: 0,
    first: true,
    end: true,
    size: text.length,
    mode: 0o644,
    mtime: Date.now(),
  };
  s.c.write(frame(T.OP, { seq, kind: 'put', meta }, Buffer.from(text)));
  const ok = await s.c.until(
    () => s.c.frames.some((f) => f.type === T.ACK && Number(f.header?.seq) >= seq),
    ANSWER_MS,
  );
  s.c.destroy();
  if (!ok || s.c.frames.some((f) => f.type === T.FAULT))
    return `canary ${n}: no ACK for a plain put`;
  const onDisk = await fsp
    .readFile(path.join(ep.root, 'canary', 'canary.txt'), 'utf8')
    .catch(() => '');
  return onDisk === text ? undefined : `canary ${n}: the replica holds ${JSON.stringify(onDisk)}`;
}
