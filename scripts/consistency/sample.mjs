// One consistency sample: an application writing on the source while smr replicates it, a
// simulated death of the source machine at a random moment (the application and the source
// daemon killed at the same instant), the target left to settle and frozen, then the replica
// (a copy) and the source's own files (a copy) opened and judged.
//
// With kill = 'target' the target is killed -9 first (in the middle of applying), the source
// machine dies a moment later, and the target is restarted to recover before it is judged.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dieTogether, settle, startSource, startTarget } from './smr-pair.mjs';
import { delay } from '../bench/common.mjs';

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  fs.chmodSync(to, 0o755);
  if (!fs.existsSync(from)) return;
  const r = spawnSync('cp', ['-a', `${from}/.`, to]);
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
}

/**
 * Runs one sample of `app` in `dir` (source files in `makeSrc()` when given) and returns
 * { killAtMs, fed, source: judgement, replica: judgement, verdict, settleMs }.
 */
export async function runSample({ app, dir, key, rnd, minMs, maxMs, connectExtra, kill, makeSrc }) {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  // The source directory: a plain one, or (makeSrc) e.g. a btrfs subvolume for crash mode.
  const src = makeSrc ? makeSrc() : path.join(dir, 'src');
  if (!makeSrc) fs.mkdirSync(src);
  await app.setup(src);
  // What runs now; a failed sample (a refused connect, a failed writer) must leave none of it.
  const live = { target: await startTarget(dir, key), source: null, writer: null };
  const run = { app, dir, key, rnd, minMs, maxMs, kill, src, live };
  try {
    live.source = await startSource(dir, key, live.target.port, src, connectExtra);
    live.writer = app.startAsync ? await app.startAsync(src, rnd, dir) : app.start(src, rnd, dir);
    return await judgeSample(run);
  } catch (e) {
    dieTogether([live.target.handle.pid, live.source?.handle.pid, ...(live.writer?.pids() ?? [])]);
    throw e;
  }
}

/** Kills the source machine at a random moment, then judges the replica against the source. */
async function judgeSample({ app, dir, key, rnd, minMs, maxMs, kill, src, live }) {
  const { source, writer } = live;
  const killAtMs = Math.round(minMs + rnd() * (maxMs - minMs));
  await delay(killAtMs);
  const early = writer.stats();
  if (early.error) throw new Error(`the ${app.name} writer failed: ${early.error}`);
  if (kill === 'target') {
    dieTogether([live.target.handle.pid]);
    await delay(Math.round(rnd() * 300));
  }
  dieTogether([...writer.pids(), source.handle.pid]);
  const { fed } = writer.stats();
  await Promise.all([writer.exited, source.handle.exited]);
  if (kill === 'target') {
    await live.target.handle.exited;
    live.target = await startTarget(dir, key, 'target-restarted');
  }
  const replicaDir = path.join(dir, 'root', 'app');
  const settleMs = await settle(replicaDir);
  await live.target.handle.stop();
  copyTree(replicaDir, path.join(dir, 'check-replica'));
  copyTree(src, path.join(dir, 'check-source'));
  const sourceJ = await app.check(path.join(dir, 'check-source'), dir, 'source-copy');
  const replicaJ = await app.check(path.join(dir, 'check-replica'), dir, 'replica-copy');
  let verdict;
  if (!sourceJ.ok) verdict = 'source-broken';
  else if (!replicaJ.ok) verdict = replicaJ.txns === null ? 'corrupt' : 'not-a-source-state';
  else if (replicaJ.txns > sourceJ.txns) verdict = 'not-a-source-state';
  else verdict = 'clean';
  // A target killed after a group's commit point rolls it forward at its restart, and says so.
  const rolledForward =
    kill === 'target' ? rolledForwardLines(path.join(dir, 'target-restarted.log')) : null;
  return { killAtMs, fed, settleMs, source: sourceJ, replica: replicaJ, verdict, rolledForward };
}

/** The restarted target's "group N rolled forward to seq S" lines. */
function rolledForwardLines(logFile) {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  return text.split('\n').filter((l) => /group \d+ rolled forward to seq \d+/.test(l)).length;
}
