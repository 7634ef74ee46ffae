// A restarted source reconciles its tree with the index (issue 10, points 1, 2 and 6): a file
// someone put into the replica survives any number of restarts; a restart that would delete more
// than half of what the target holds stops at the brake and says why; the index survives kill -9
// at any moment and ends equal to the tree; an unchanged tree is reconciled without sending data.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PathIndex } from '../../src/index/index.js';
import { treeDigest } from '../../src/shared/tree-digest.js';
import {
  cleanupAll,
  connect,
  expectSameTree,
  prng,
  sleep,
  smr,
  startSource,
  startTarget,
  startWriter,
  status,
  tmp,
  waitSynced,
  waitSyncedPastBrake,
  waitUntil,
  write,
  type Daemon,
} from '../helpers/harness.js';
import { sized } from '../helpers/scale.js';
import { keptWhole } from '../helpers/stamps.js';

afterEach(cleanupAll);

const SEED = Number(process.env.SMR_RESTART_SEED ?? Math.floor(Math.random() * 1e6));

// Sizes (test/helpers/scale.ts): npm test's, then test:long's.
/** Restarts a target-only file survives: one kill -9 and one clean stop at least. */
const KEEP_ROUNDS = sized(2, 4);
/** Source kills under a writer. */
const KILL_ROUNDS = sized(3, 5);
/**
 * Directories of 100 files in the big tree. 50 (5,000 entries) is past the 4,096 names a walk lists
 * inline before its lister's worker threads take over (src/source/dir-lister.ts), and crosses the
 * batches of the restart's walk several times over: a turn of the event loop every 512 entries
 * (src/shared/yield.ts), index cursors of 512 rows (src/index/cursors.ts); and the first mirror's
 * pipeline of 2,000 items (src/source/mirror-pace.ts).
 */
const BIG_DIRS = sized(50, 100);

function indexFile(s: Daemon, name: string): string {
  return path.join(s.stateDir, 'connections', name, 'index.sqlite');
}

/** Every path of the index (a stopped source's) against an independent walk of the tree. */
async function indexAgainstTree(file: string, dir: string): Promise<string[]> {
  const idx = PathIndex.open(file);
  try {
    const problems = idx.integrityCheck();
    if (idx.dirtyCount() > 0) problems.push(`${idx.dirtyCount()} dirty path(s) left`);
    const disk = await treeDigest(dir);
    const seen = new Set<string>();
    for (const { path: p, entry } of idx.entries()) {
      const rel = p.toString('utf8');
      seen.add(rel);
      const d = disk.get(rel);
      if (!d) problems.push(`index has ${rel}, the tree does not`);
      else if (d.type !== entry.type) problems.push(`${rel}: index ${entry.type}, tree ${d.type}`);
      else if (d.type === 'file' && d.size !== entry.size) problems.push(`${rel}: size differs`);
    }
    for (const rel of disk.keys()) if (!seen.has(rel)) problems.push(`index lacks ${rel}`);
    return problems;
  } finally {
    idx.close();
  }
}

describe('restart reconciliation', () => {
  it('keeps a target-only file through kill -9s and clean stops, until orphans --delete', async () => {
    const src = await tmp('smr-src-');
    for (let i = 0; i < 10; i++) await write(path.join(src, `d${i % 2}`, `f${i}.txt`), `f${i}`);
    const t = await startTarget();
    let s = await startSource();
    await connect(s, 'keep', t, src);
    await waitSynced(s, 'keep');
    const replica = path.join(t.root, 'keep');
    await write(path.join(replica, 'notes', 'by-hand.txt'), 'an operator put this here');
    for (let round = 0; round < KEEP_ROUNDS; round++) {
      if (round % 2) await s.stop();
      else await s.kill();
      // Changes while down: a new file, a deleted one, a renamed directory.
      await write(path.join(src, `new${round}.txt`), `round ${round}`);
      await fsp.rm(path.join(src, `e${round - 1}`), { recursive: true, force: true });
      await fsp.rename(path.join(src, `d${round % 2}`), path.join(src, `e${round}`));
      await write(path.join(src, `d${round % 2}`, 'again.txt'), `round ${round}`);
      s = await startSource(s.stateDir);
      await waitSynced(s, 'keep');
      expect(await fsp.readFile(path.join(replica, 'notes', 'by-hand.txt'), 'utf8')).toMatch(/op/);
      const digest = await treeDigest(replica, (rel) => rel === 'notes');
      expect(digest).toEqual(await treeDigest(src));
    }
    const o = await smr(['orphans', 'keep', '--delete', '--json', '--state-dir', s.stateDir]);
    expect(o.code, o.stderr).toBe(0);
    expect(o.json.orphans.map((x: { path: string }) => x.path)).toEqual([
      'notes',
      'notes/by-hand.txt',
    ]);
    await expectSameTree(src, replica);
  }, 120_000);

  it('stops at the brake when a restart would delete more than half of the target', async () => {
    const src = await tmp('smr-src-');
    for (let i = 0; i < 10; i++) await write(path.join(src, `f${i}.txt`), `f${i}`);
    const t = await startTarget();
    const s = await startSource();
    await connect(s, 'brake', t, src);
    await waitSynced(s, 'brake');
    await s.stop();
    for (let i = 0; i < 6; i++) await fsp.rm(path.join(src, `f${i}.txt`));
    const s2 = await startSource(s.stateDir);
    const sd = ['--state-dir', s2.stateDir];
    await waitUntil(
      async () => (await status(s2, 'brake')).targetState === 'error',
      20_000,
      'brake',
    );
    const st = await status(s2, 'brake');
    expect(st.lastError).toMatch(/safety brake: deleting 6 of 10 target entries is more than 50%/);
    const w = await smr(['wait', 'brake', '--timeout', '20s', ...sd]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--force/);
    const replica = path.join(t.root, 'brake');
    expect((await fsp.readdir(replica)).length).toBe(10);
    // The operator looked: a forced mirror lets the deletions through.
    const m = await smr(['mirror', 'start', 'brake', '--force', '--wait', ...sd]);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    await waitSynced(s2, 'brake');
    await expectSameTree(src, replica);
    expect((await status(s2, 'brake')).targetState).toBe('ok');
  }, 120_000);

  // With a mirror done, and without a baseline (`--mirror none`, as when the first mirror never
  // completed): the index then knows only what capture sent, and new names count only as renames.
  it.each(['diff', 'none'])(
    'replays directories renamed while the source was down as renames: no brake, trees equal (--mirror %s)',
    async (mirror) => {
      const src = await tmp('smr-src-');
      const N = 12;
      const fill = async (): Promise<void> => {
        for (let d = 0; d < N; d++)
          for (let f = 0; f < 3; f++)
            await write(path.join(src, `d${d}`, `f${f}.txt`), `${d}/${f}`);
      };
      if (mirror === 'diff') await fill();
      const t = await startTarget();
      let s = await startSource();
      await connect(s, 'moved', t, src, ['--mirror', mirror]);
      if (mirror === 'none') await fill(); // captured, so in the index
      await waitSynced(s, 'moved');
      await expectSameTree(src, path.join(t.root, 'moved'));
      const replica = path.join(t.root, 'moved');
      for (const how of ['stop', 'kill -9'] as const) {
        if (how === 'stop') await s.stop();
        else await s.kill();
        // Most of the tree gets new names: in place (sorting before and after the old names), and
        // moved below another directory; one is left where it was.
        const names = (await fsp.readdir(src)).sort();
        for (const [i, name] of names.slice(1).entries()) {
          const to =
            i % 3 === 0
              ? `a-${how === 'stop' ? 's' : 'k'}${i}`
              : i % 3 === 1
                ? `z-${how === 'stop' ? 's' : 'k'}${i}`
                : path.join(names[0] as string, `${name}-in`);
          await fsp.rename(path.join(src, name), path.join(src, to));
        }
        s = await startSource(s.stateDir);
        const w = await smr(['wait', 'moved', '--timeout', '60s', '--state-dir', s.stateDir]);
        expect(w.code, `${how}: ${w.stdout}${w.stderr}`).toBe(0);
        const st = await status(s, 'moved');
        expect(st.targetState, how).toBe('ok');
        expect(st.sent.bytes, `${how}: renames send no file data`).toBe(0);
        await expectSameTree(src, replica);
      }
    },
    120_000,
  );

  it('the index survives kill -9 at any moment, and ends equal to the tree', async () => {
    const src = await tmp('smr-src-');
    for (let i = 0; i < 40; i++) await write(path.join(src, `s${i % 4}`, `f${i}.txt`), `f${i}\n`);
    const t = await startTarget();
    let s = await startSource();
    await connect(s, 'crash', t, src);
    await waitSynced(s, 'crash');
    const rnd = prng(SEED);
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const ctx = `seed ${SEED}, round ${round}`;
      const w = startWriter(src, { seed: SEED + round, durationMs: 2000, maxBigBytes: 4 << 20 });
      await sleep(100 + rnd() * 1700);
      await s.kill();
      const idx = PathIndex.open(indexFile(s, 'crash'));
      expect(idx.integrityCheck(), ctx).toEqual([]);
      idx.close();
      await sleep(rnd() * 500); // the writer goes on while the source is down
      s = await startSource(s.stateDir);
      await w.done;
    }
    // The writer may delete most of this small tree while the source is down: the brake then
    // holds the restart's deletions, and the answer is an operator's `mirror start --force`.
    await waitSyncedPastBrake(s, 'crash', '60s').catch((err: Error) => {
      throw new Error(`seed ${SEED}: ${err.message}`);
    });
    await expectSameTree(src, path.join(t.root, 'crash'));
    await s.stop();
    expect(await indexAgainstTree(indexFile(s, 'crash'), src), `seed ${SEED}`).toEqual([]);
  }, 240_000); // test:long's rounds on a loaded machine

  it(`reconciles a ${BIG_DIRS * 100}-file tree: unchanged without sending data, then changes made while down`, async () => {
    const src = await tmp('smr-src-');
    for (let d = 0; d < BIG_DIRS; d++) {
      await fsp.mkdir(path.join(src, `d${d}`));
      for (let f = 0; f < 100; f++)
        await fsp.writeFile(path.join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
    }
    const t = await startTarget();
    let s = await startSource();
    await connect(s, 'big', t, src);
    await waitSynced(s, 'big', '120s');
    for (const how of ['stop', 'kill -9'] as const) {
      if (how === 'stop') await s.stop();
      else await s.kill();
      const t0 = Date.now();
      s = await startSource(s.stateDir);
      await waitSynced(s, 'big', '120s');
      const ms = Date.now() - t0;
      const st = await status(s, 'big');
      // Reported, not asserted (a shared machine): how long start, walk and wait took.
      process.stderr.write(
        `restart (${how}) on ${BIG_DIRS * 100} unchanged files: synced after ${ms} ms\n`,
      );
      expect(st.sent.bytes, how).toBe(0);
      expect(st.targetState).toBe('ok');
      // The restart's walk placed the watches (the watcher started with the root alone).
      expect(st.watcher?.watchedDirs, how).toBe(BIG_DIRS + 1);
    }
    // An idle source keeps the restart's stamp pages built (src/source/stamp-keeper.ts), and the
    // restart below reads the index through them: the changes made while down are found so.
    await waitUntil(() => keptWhole(indexFile(s, 'big')), 60_000, 'stamp pages built');
    // Changes while it is down, spread over the tree, found by the workers' listings: content
    // rewritten at the same size, a mode, a deletion, a new directory deep in the walk's order.
    await s.stop();
    const last = `d${BIG_DIRS - 1}`;
    await fsp.writeFile(path.join(src, 'd1', 'f7.txt'), 'FILE 1/7\n');
    await fsp.utimes(path.join(src, 'd1', 'f7.txt'), 1_000_000, 1_000_000);
    await fsp.chmod(path.join(src, `d${Math.floor(BIG_DIRS / 2)}`, 'f50.txt'), 0o600);
    await fsp.rm(path.join(src, last, 'f99.txt'));
    await write(path.join(src, last, 'down', 'deep', 'new.txt'), 'made while down\n');
    s = await startSource(s.stateDir);
    await waitSynced(s, 'big', '120s');
    await expectSameTree(src, path.join(t.root, 'big'));
    // ... and they see what changes after it, deep in the tree.
    const mid = `d${Math.floor(BIG_DIRS * 0.57)}`;
    await fsp.mkdir(path.join(src, mid, 'new'));
    await fsp.writeFile(path.join(src, mid, 'new', 'after.txt'), 'after the restart\n');
    await fsp.writeFile(
      path.join(src, `d${BIG_DIRS - 1}`, 'f3.txt'),
      'changed after the restart\n',
    );
    await waitSynced(s, 'big', '120s');
    await expectSameTree(src, path.join(t.root, 'big'));
  }, 240_000);

  it('replicates a directory mode changed while the source was down; diff and checksum mirrors repair one changed on the target', async () => {
    const src = await tmp('smr-src-');
    await write(path.join(src, 'd', 'e', 'f.txt'), 'f');
    await fsp.chmod(path.join(src, 'd'), 0o755);
    const t = await startTarget();
    let s = await startSource();
    await connect(s, 'modes', t, src);
    await waitSynced(s, 'modes');
    const replica = path.join(t.root, 'modes');
    const mode = async (rel: string) => (await fsp.stat(path.join(replica, rel))).mode & 0o7777;
    await s.stop();
    await fsp.chmod(path.join(src, 'd'), 0o750);
    await fsp.chmod(path.join(src, 'd', 'e'), 0o700);
    s = await startSource(s.stateDir);
    await waitSynced(s, 'modes');
    expect([await mode('d'), await mode('d/e')]).toEqual([0o750, 0o700]);
    for (const how of ['diff', 'checksum']) {
      await fsp.chmod(path.join(replica, 'd'), 0o777); // by hand, on the target
      const m = await smr([
        'mirror',
        'start',
        'modes',
        '--mode',
        how,
        '--wait',
        '--state-dir',
        s.stateDir,
      ]);
      expect(m.code, how).toBe(0);
      expect(await mode('d'), how).toBe(0o750);
    }
    await expectSameTree(src, replica);
  }, 120_000);
});
