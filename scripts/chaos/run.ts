// One chaos run: a fresh source tree, target and proxy; the seeded workload with kills and link
// faults; then `smr wait` and the harness's own comparison of both trees.
import { createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DaemonProc, NotReadyError, runSmr } from './daemons.js';
import { planFaults, playCuts, playKills, type FaultCounts, type FaultRates } from './faults.js';
import { FaultProxy } from './proxy.js';
import { Rng, derivedSeed } from '../lib/rng.js';
import { compareTrees, countKinds, divergent, summarize, walkTree, type TreeDiff } from './tree.js';
import { Workload } from './workload.js';
import { lostTargetOnly, plantTargetOnly, withoutTargetOnly } from './target-only.js';

/** The connection every run makes. */
export const NAME = 'chaos';
/** How long a run waits after a divergence before looking again (does it heal by itself?). */
const RECHECK_MS = 5000;

/** Settings of one run. */
export interface RunOptions {
  seed: number;
  seconds: number;
  /** bin/smr.js of the build under test. */
  smrBin: string;
  /** The run's directory is made below this one (trees, state dirs, logs). */
  workDir: string;
  rates: FaultRates;
  /** How long `smr wait` may take after the workload stopped. */
  waitTimeoutS: number;
  /** Keep the run directory even when the run passed. */
  keepLogs: boolean;
  bigBudget: number;
  maxEntries: number;
  /** Files put into the replica by hand after connect, which must survive (0: none). */
  targetOnly: number;
}

/** What one run saw. */
export interface RunResult {
  seed: number;
  seconds: number;
  ops: number;
  faults: FaultCounts;
  /** `smr wait`'s exit code and how long it took (the time to converge when 0). After a brake
   * hold, the wait that followed the operator's `mirror start --force`. */
  wait: { code: number; ms: number; output: string };
  /** The first `wait` exited 2 because the safety brake held deletions: the harness answered as
   * an operator would (`smr mirror start NAME --force`) and judged the trees after a second wait.
   * Not a divergence, not hidden: counted in its own column. */
  brake: { held: string; forceCode: number } | null;
  /** wait returned 0 but the trees differ. */
  diverged: boolean;
  /** Diverged, and still so RECHECK_MS later. */
  persistent: boolean;
  diffCounts: Partial<Record<TreeDiff['kind'], number>>;
  /** The differences, a directory's descendants folded into it. */
  diffs: TreeDiff[];
  tempLeftovers: number;
  /** Target-only files planted, and those smr deleted or changed (it must keep them). */
  targetOnly: { planted: number; lost: string[] };
  /** The machine's 1-minute load average when the run ended (other programs share the CPU). */
  load: number;
  /** A daemon that never became ready after a (re)start: the run could not be judged. */
  hang?: string;
  /** The run's directory when kept (failed runs always). */
  logsDir: string | null;
  error?: string;
}

/** True when a run needs looking at: a divergence, no convergence, or a harness error. */
export function failed(r: RunResult): boolean {
  return (
    r.diverged ||
    r.wait.code !== 0 ||
    r.error !== undefined ||
    r.hang !== undefined ||
    r.targetOnly.lost.length > 0
  );
}

/** Runs one seeded chaos run. */
export async function chaosRun(o: RunOptions): Promise<RunResult> {
  const dir = path.join(o.workDir, `seed-${o.seed}`);
  await fsp.rm(dir, { recursive: true, force: true });
  const p = {
    src: path.join(dir, 'src'),
    root: path.join(dir, 'target-root'),
    sstate: path.join(dir, 'source-state'),
    tstate: path.join(dir, 'target-state'),
    key: path.join(dir, 'key'),
  };
  for (const d of [p.src, p.root, p.sstate, p.tstate]) await fsp.mkdir(d, { recursive: true });
  const events = createWriteStream(path.join(dir, 'events.log'));
  const log = (line: string): void => void events.write(`${new Date().toISOString()} ${line}\n`);
  const result: RunResult = {
    seed: o.seed,
    seconds: o.seconds,
    ops: 0,
    faults: { kills: { source: 0, target: 0 }, cuts: { reset: 0, stall: 0, 'stall-reset': 0 } },
    wait: { code: -1, ms: 0, output: '' },
    brake: null,
    diverged: false,
    persistent: false,
    diffCounts: {},
    diffs: [],
    tempLeftovers: 0,
    load: 0,
    targetOnly: { planted: 0, lost: [] },
    logsDir: dir,
  };
  let targetPort = 0;
  const target = new DaemonProc(
    'target',
    o.smrBin,
    () => [
      'target',
      'start',
      '--listen',
      `127.0.0.1:${targetPort}`,
      '--root',
      p.root,
      '--key-file',
      p.key,
      '--state-dir',
      p.tstate,
    ],
    path.join(dir, 'target.log'),
  );
  const source = new DaemonProc(
    'source',
    o.smrBin,
    () => ['source', 'start', '--state-dir', p.sstate],
    path.join(dir, 'source.log'),
  );
  let proxy: FaultProxy | null = null;
  const workload = new Workload(p.src, new Rng(o.seed), (l) => log(l), {
    bigBudget: o.bigBudget,
    maxEntries: o.maxEntries,
  });
  try {
    const key = await runSmr(o.smrBin, ['key', 'generate', '--out', p.key]);
    if (key.code !== 0) throw new Error(`key generate: ${key.stderr}`);
    workload.seedTree(40, 200);
    await target.start('first start');
    targetPort = Number(target.ready.port);
    proxy = await FaultProxy.start(targetPort);
    await source.start('first start');
    const c = await runSmr(o.smrBin, [
      'connect',
      NAME,
      '--to',
      `127.0.0.1:${proxy.port}`,
      '--path',
      p.src,
      '--key-file',
      p.key,
      '--state-dir',
      p.sstate,
      '--json',
    ]);
    if (c.code !== 0) throw new Error(`connect exited ${c.code}: ${c.stdout}${c.stderr}`);
    log(`connected through the proxy on port ${proxy.port} (target on ${targetPort})`);
    const planted = await plantTargetOnly(path.join(p.root, NAME), o.targetOnly);
    result.targetOnly.planted = planted.size;

    const ms = o.seconds * 1000;
    const plan = planFaults(new Rng(derivedSeed(o.seed, 1)), ms, o.rates);
    log(`plan: ${JSON.stringify(plan)}`);
    const start = Date.now();
    let aborted = false;
    const abort = (err: unknown): never => {
      aborted = true; // a daemon that cannot be brought back ends the workload too
      throw err;
    };
    const jobs = await Promise.allSettled([
      workload.run(start + ms, () => aborted),
      playKills(plan.kills, start, { source, target }, result.faults, log).catch(abort),
      playCuts(plan.cuts, start, start + ms, proxy, result.faults, log),
    ]);
    for (const j of jobs) if (j.status === 'rejected') throw j.reason;
    if (workload.failures)
      throw new Error(`${workload.failures} workload ops failed (see events.log)`);
    proxy.heal();
    if (!target.running) await target.start('after the workload');
    if (!source.running) await source.start('after the workload');
    log(
      `workload done: ${workload.ops} ops ${JSON.stringify(workload.byKind)}, ${workload.model.size} entries`,
    );

    result.wait = await waitFor(o, p.sstate, log);
    if (result.wait.code === 2 && BRAKE.test(result.wait.output)) {
      // The operator's answer to a brake hold: look (the harness knows the workload made those
      // deletions) and pass it with --force; then the run is judged like any other.
      const f = await runSmr(o.smrBin, [
        'mirror',
        'start',
        NAME,
        '--force',
        '--state-dir',
        p.sstate,
      ]);
      result.brake = { held: result.wait.output, forceCode: f.code };
      log(`brake held; mirror start --force exited ${f.code}: ${(f.stdout + f.stderr).trim()}`);
      const first = result.wait.ms;
      result.wait = await waitFor(o, p.sstate, log);
      result.wait.ms += first;
    }
    await compare(p.src, path.join(p.root, NAME), result, log);
    result.targetOnly.lost = await lostTargetOnly(path.join(p.root, NAME), planted);
    if (planted.size)
      log(`target-only files lost: ${result.targetOnly.lost.length} of ${planted.size}`);
    if (result.wait.code === 0 && result.diverged) {
      await new Promise((r) => setTimeout(r, RECHECK_MS));
      const again = divergent(
        withoutTargetOnly(
          compareTrees(await walkTree(p.src), await walkTree(path.join(p.root, NAME))),
        ),
      );
      result.persistent = again.length > 0;
      log(`${RECHECK_MS} ms later: ${again.length} differences`);
    }
    if (failed(result)) {
      const st = await runSmr(o.smrBin, ['status', NAME, '--json', '--state-dir', p.sstate]);
      await fsp.writeFile(path.join(dir, 'status.json'), st.stdout + st.stderr);
    }
  } catch (err) {
    if (err instanceof NotReadyError) result.hang = err.message;
    else result.error = (err as Error).message;
    log(`harness error: ${(err as Error).stack ?? String(err)}`);
  } finally {
    result.ops = workload.ops;
    result.load = os.loadavg()[0] ?? 0;
    await source.stop().catch(() => undefined);
    await target.stop().catch(() => undefined);
    await proxy?.close();
    await source.closeLog();
    await target.closeLog();
    await new Promise<void>((r) => events.end(() => r()));
  }
  // A brake hold is kept too: was it deletions the workload really made? (its events.log says)
  if (!failed(result) && !result.brake && !o.keepLogs) {
    await fsp.rm(dir, { recursive: true, force: true });
    result.logsDir = null;
  }
  return result;
}

/** What `smr wait` says when the safety brake holds deletions (src/source/brake.ts). */
const BRAKE = /safety brake/;

/** `smr wait NAME` after the workload, with the run's timeout. */
async function waitFor(
  o: RunOptions,
  sstate: string,
  log: (line: string) => void,
): Promise<RunResult['wait']> {
  const w = await runSmr(
    o.smrBin,
    ['wait', NAME, '--timeout', `${o.waitTimeoutS}s`, '--state-dir', sstate, '--json'],
    (o.waitTimeoutS + 30) * 1000,
  );
  const output = (w.stdout + w.stderr).trim().slice(0, 2000);
  log(`wait exited ${w.code} after ${w.ms} ms: ${output}`);
  return { code: w.code, ms: w.ms, output };
}

/** Compares source and replica into `result` and writes every difference to diffs.txt. */
async function compare(
  src: string,
  replica: string,
  result: RunResult,
  log: (line: string) => void,
): Promise<void> {
  const all = withoutTargetOnly(compareTrees(await walkTree(src), await walkTree(replica)));
  const real = divergent(all);
  result.tempLeftovers = all.length - real.length;
  result.diffCounts = countKinds(real);
  result.diffs = summarize(real);
  result.diverged = result.wait.code === 0 && real.length > 0;
  log(
    `compare: ${real.length} differences ${JSON.stringify(result.diffCounts)}, ${result.tempLeftovers} temp files`,
  );
  if (all.length && result.logsDir) {
    const lines = all.map((d) => `${d.kind}\t${d.path}\t${d.source ?? ''}\t${d.target ?? ''}`);
    await fsp.writeFile(path.join(result.logsDir, 'diffs.txt'), lines.join('\n') + '\n');
  }
}
