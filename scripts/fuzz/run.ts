// One fuzz run (docs/FUZZ.md): two targets (TLS, and plaintext to reach the decoder sooner) on a
// small file system inside a sentinel tree; rounds of hostile connections until N frames are
// sent; canaries while it runs; then real replication into both, clean stops, and a comparison of
// everything outside the roots with how it was before. Crashes, hangs and escapes are counted.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Rng } from '../lib/rng.js';
import { captureClientHello } from './wire.js';
import { FuzzTarget } from './target.js';
import {
  changes,
  dropArena,
  freeBytes,
  makeArena,
  plantLinks,
  rmTree,
  snapshot,
  strayPwns,
  type Arena,
} from './arena.js';
import {
  burstRound,
  canary,
  decoderRound,
  preauthRound,
  type Endpoint,
  type RoundResult,
} from './sessions.js';
import { makeTree, replicateOnce, startSource } from './real.js';
import { hostileStorm, type HostileResult } from './hostile.js';
import { trace, traceEnd, traceTo } from './trace.js';

/** How a run is shaped. */
export interface FuzzOptions {
  frames: number;
  seed: number;
  /** bin/smr.js of the build under test. */
  bin: string;
  /** A fresh directory for the run (kept with --keep or when something failed). */
  work: string;
  /** Hostile pre-authentication connections for the storm at the end (0: none). */
  hostile: number;
  keep: boolean;
  /** Size of the roots' loop-mounted file system. */
  fsMiB: number;
  say: (line: string) => void;
}

/** Memory of one target, MiB. */
export interface Rss {
  peak: number;
  first10pct: number;
  end: number;
}

/** What a run found. */
export interface FuzzResult {
  seed: number;
  seconds: number;
  frames: { preauth: number; decoder: number; burst: number; total: number };
  rounds: number;
  closedByTarget: number;
  faultsReported: number;
  crashes: string[];
  hangs: string[];
  escapes: string[];
  canaries: { run: number; failed: string[] };
  rss: Record<string, Rss>;
  real: Record<string, string | null>;
  stops: Record<string, number | null>;
  hostile: HostileResult | null;
  mounted: boolean;
  kept: string | null;
}

const POOL = 6;
const CANARY_EVERY = 40;
const PREAUTH_PARALLEL = 8;

/** True when the run found nothing wrong. */
export function passed(r: FuzzResult, maxRssMiB: number, hostileMiB = 150): boolean {
  const realOk = Object.values(r.real).every((e) => e === null);
  const stopsOk = Object.values(r.stops).every((c) => c === 0);
  const rssOk = Object.values(r.rss).every((x) => x.peak <= maxRssMiB);
  const h = r.hostile;
  const hostileOk =
    !h || (h.allClosed && h.waiting <= 64 && h.maxPerAddress <= 16 && h.peakMiB <= hostileMiB);
  return (
    !r.crashes.length &&
    !r.hangs.length &&
    !r.escapes.length &&
    !r.canaries.failed.length &&
    realOk &&
    stopsOk &&
    rssOk &&
    hostileOk
  );
}

/** Runs the fuzz. */
export async function fuzzRun(o: FuzzOptions): Promise<FuzzResult> {
  const started = Date.now();
  const arena = await makeArena(o.work, o.fsMiB);
  o.say(
    `fuzz: seed ${o.seed}, ${o.frames} frames; roots on ${arena.mounted ? `a ${o.fsMiB} MiB loop-mounted ext4` : 'a plain directory (no loop mount here)'}; work dir ${o.work}`,
  );
  const logs = path.join(o.work, 'logs');
  await fsp.mkdir(logs);
  traceTo(path.join(logs, 'frames.log'));
  const targets = ['tls', 'plain'].map(
    (name) =>
      new FuzzTarget({
        name,
        bin: o.bin,
        root: path.join(arena.fs, `r-${name}`),
        stateDir: path.join(o.work, `state-${name}`),
        keyFile: arena.keyFile,
        tasksDir: arena.tasksDir,
        tls: name === 'tls',
        logFile: path.join(logs, `target-${name}.log`),
      }),
  );
  const r: FuzzResult = {
    seed: o.seed,
    seconds: 0,
    frames: { preauth: 0, decoder: 0, burst: 0, total: 0 },
    rounds: 0,
    closedByTarget: 0,
    faultsReported: 0,
    crashes: [],
    hangs: [],
    escapes: [],
    canaries: { run: 0, failed: [] },
    rss: {},
    real: {},
    stops: {},
    hostile: null,
    mounted: arena.mounted,
    kept: null,
  };
  const outsideRoots = skipSet(o.work, arena);
  try {
    for (const t of targets) await fsp.mkdir(t.spec.root, { recursive: true });
    for (const t of targets)
      for (let i = 0; i < POOL; i++) await plantLinks(arena, path.join(t.spec.root, `fz${i}`));
    const before = await snapshot(o.work, outsideRoots);
    for (const t of targets) await t.start();
    const hello = await captureClientHello(arena.key);
    const eps = targets.map((t): Endpoint => ({
      name: t.spec.name,
      port: t.port,
      tls: t.spec.tls,
      key: arena.key,
      root: t.spec.root,
      clientHello: hello,
    }));
    await rounds(o, arena, targets, eps, r);
    for (const [i, ep] of eps.entries()) await runCanary(ep, new Rng(o.seed), r, 1000 + i);
    await realReplication(o, arena, targets, r);
    for (const t of targets) r.stops[t.spec.name] = await t.stop();
    for (const t of targets)
      r.rss[t.spec.name] = {
        ...(r.rss[t.spec.name] as Rss),
        peak: Math.round(t.peakRssKiB / 1024),
      };
    for (const t of targets) r.crashes.push(...t.crashes.map((c) => `${t.spec.name}: ${c}`));
    r.escapes.push(
      ...changes(before, await snapshot(o.work, outsideRoots)),
      ...(await strayPwns()),
    );
    r.escapes.push(...(await stateStrays(targets.map((t) => t.spec.stateDir))));
    if (o.hostile > 0) r.hostile = await storm(o, arena, r);
  } finally {
    await traceEnd();
    for (const t of targets) await t.kill();
    r.seconds = Math.round((Date.now() - started) / 1000);
    const failed = r.crashes.length + r.hangs.length + r.escapes.length > 0;
    r.kept = o.keep || failed ? o.work : null;
    await dropArena(arena, r.kept !== null);
  }
  return r;
}

/** Everything in the run directory that is not the targets' or the harness's own. */
function skipSet(work: string, a: Arena): Set<string> {
  const names = [
    'state-tls',
    'state-plain',
    'state-storm',
    'logs',
    'fs.img',
    'src-state',
    'data-tls',
    'data-plain',
    'data-storm',
  ];
  return new Set([
    ...names.map((n) => path.join(work, n)),
    ...['r-tls', 'r-plain', 'r-storm'].map((n) => path.join(a.fs, n)),
    path.join(a.fs, 'lost+found'),
  ]);
}

async function rounds(
  o: FuzzOptions,
  arena: Arena,
  targets: FuzzTarget[],
  eps: Endpoint[],
  r: FuzzResult,
): Promise<void> {
  const rng = new Rng(o.seed);
  const preauth = new Set<Promise<void>>();
  let bursts = 0;
  let nextMark = 0.1;
  while (r.frames.total < o.frames) {
    const k = rng.int(eps.length);
    const ep = eps[k] as Endpoint;
    const t = targets[k] as FuzzTarget;
    const mode = rng.weighted({ preauth: 4, decoder: 4, burst: 0.6 });
    const i = rng.int(POOL);
    const replica = `fz${i}`;
    trace(`round ${r.rounds} ${mode} ${ep.name} ${replica}`);
    let res: RoundResult;
    if (mode === 'preauth') {
      while (preauth.size >= PREAUTH_PARALLEL) await Promise.race(preauth);
      const sub = new Rng(rng.int(2 ** 31));
      const p = preauthRound(ep, sub).then((x) => note(o, r, ep, 'preauth', x, r.rounds));
      preauth.add(p);
      void p.finally(() => preauth.delete(p));
      r.frames.preauth += 2; // counted exactly when the round ends; this keeps the budget honest
      r.frames.total += 2;
      continue;
    }
    if (mode === 'decoder') res = await decoderRound(ep, rng, replica, 100 + i);
    else {
      await keepRoom(arena, targets);
      await plantLinks(arena, path.join(ep.root, replica));
      res = await burstRound(ep, rng, replica, 100 + i, o.frames - r.frames.total);
      if (++bursts % CANARY_EVERY === 0) for (const e of eps) await runCanary(e, rng, r, bursts);
    }
    note(o, r, ep, mode, res, r.rounds);
    await revive(t, ep, r);
    if (r.frames.total >= nextMark * o.frames) {
      o.say(progress(r, targets, o.frames));
      if (nextMark === 0.1)
        for (const x of targets)
          r.rss[x.spec.name] = { peak: 0, first10pct: Math.round(x.sample() / 1024), end: 0 };
      nextMark += 0.1;
    }
  }
  await Promise.all(preauth);
  for (const x of targets)
    (r.rss[x.spec.name] ??= { peak: 0, first10pct: 0, end: 0 }).end = Math.round(x.sample() / 1024);
}

function note(
  o: FuzzOptions,
  r: FuzzResult,
  ep: Endpoint,
  mode: keyof FuzzResult['frames'],
  x: RoundResult,
  round: number,
): void {
  r.rounds++;
  const counted = mode === 'preauth' ? 2 : 0;
  r.frames[mode] += x.frames - counted;
  r.frames.total += x.frames - counted;
  if (x.closed) r.closedByTarget++;
  r.faultsReported += x.faults;
  if (!x.hang) return;
  r.hangs.push(`${ep.name}, round ${round} (${mode}) at ${new Date().toISOString()}: ${x.hang}`);
  trace(`HANG ${r.hangs.at(-1)}`);
  o.say(`  ! hang: ${r.hangs.at(-1)}`);
}

/** A target that died is a crash: counted (by its exit), and started again so the run goes on. */
async function revive(t: FuzzTarget, ep: Endpoint, r: FuzzResult): Promise<void> {
  if (t.alive) return;
  r.rounds++; // the crash itself is recorded by the target's exit (t.crashes)
  await t.start();
  ep.port = t.port;
}

async function runCanary(ep: Endpoint, rng: Rng, r: FuzzResult, n: number): Promise<void> {
  r.canaries.run++;
  const err = await canary(ep, rng, n);
  if (err) r.canaries.failed.push(`${ep.name}: ${err}`);
}

/** Keeps the roots' file system from staying full: the harness empties the pool now and then. */
async function keepRoom(a: Arena, targets: FuzzTarget[]): Promise<void> {
  if (!a.mounted) return;
  const { free, total } = await freeBytes(a);
  if (free > total / 4) return;
  for (const t of targets)
    for (let i = 0; i < POOL; i++) {
      const dir = path.join(t.spec.root, `fz${i}`);
      for (const n of await fsp.readdir(dir).catch(() => [] as string[]))
        await rmTree(path.join(dir, n));
    }
}

function progress(r: FuzzResult, targets: FuzzTarget[], total: number): string {
  const rss = targets.map((t) => `${t.spec.name} ${Math.round(t.sample() / 1024)} MiB`).join(', ');
  return `  ${r.frames.total}/${total} frames, ${r.rounds} rounds, ${targets.reduce((n, t) => n + t.crashes.length, 0)} crashes, ${r.hangs.length} hangs; RSS ${rss}`;
}

async function realReplication(
  o: FuzzOptions,
  a: Arena,
  targets: FuzzTarget[],
  r: FuzzResult,
): Promise<void> {
  const src = await startSource(
    o.bin,
    path.join(o.work, 'src-state'),
    path.join(o.work, 'logs', 'source.log'),
  );
  try {
    for (const t of targets) {
      const dir = path.join(o.work, `data-${t.spec.name}`);
      await makeTree(dir, t.spec.name);
      const name = `real-${t.spec.name}`;
      r.real[t.spec.name] = await replicateOnce(o.bin, src, {
        name,
        port: t.port,
        keyFile: a.keyFile,
        tls: t.spec.tls,
        dir,
        replica: path.join(t.spec.root, name),
      });
    }
  } finally {
    await src.stop();
  }
}

/** A fresh target for the pre-authentication storm, then a real source into it. */
async function storm(o: FuzzOptions, a: Arena, r: FuzzResult): Promise<HostileResult> {
  const t = new FuzzTarget({
    name: 'storm',
    bin: o.bin,
    root: path.join(a.fs, 'r-storm'),
    stateDir: path.join(o.work, 'state-storm'),
    keyFile: a.keyFile,
    tasksDir: a.tasksDir,
    tls: true,
    logFile: path.join(o.work, 'logs', 'target-storm.log'),
  });
  await t.start();
  try {
    const h = await hostileStorm(t, o.hostile);
    const src = await startSource(
      o.bin,
      path.join(o.work, 'src-state'),
      path.join(o.work, 'logs', 'source.log'),
    );
    try {
      const dir = path.join(o.work, 'data-storm');
      await makeTree(dir, 'storm');
      r.real.storm = await replicateOnce(o.bin, src, {
        name: 'after-storm',
        port: t.port,
        keyFile: a.keyFile,
        tls: true,
        dir,
        replica: path.join(t.spec.root, 'after-storm'),
      });
    } finally {
      await src.stop();
    }
    r.stops.storm = await t.stop();
    r.crashes.push(...t.crashes.map((c) => `storm: ${c}`));
    return h;
  } finally {
    await t.kill();
  }
}

/**
 * Files in the targets' state dirs other than their own (counters, task logs, lock, and crash
 * mode's group stage per replica: meta.json, ops.log, redo.json).
 */
async function stateStrays(dirs: string[]): Promise<string[]> {
  const ok =
    /^(target\.lock|target\.sock|target-replicas(\/[0-9a-f]{24}\.seq)?|target-tasks(\/[0-9a-f]{24}\.json)?|target-groups(\/[0-9a-f]{24}(\/(meta\.json|ops\.log|redo\.json))?)?)$/;
  const out: string[] = [];
  for (const d of dirs)
    for (const p of (await snapshot(d, new Set())).keys())
      if (!ok.test(p)) out.push(`unexpected in ${d}: ${p}`);
  return out;
}
