// The chaos harness's own parts (scripts/chaos): its tree comparison must see every kind of
// difference, and a seed must replay the same workload and the same fault plan.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareTrees, divergent, summarize, walkTree } from '../../scripts/chaos/tree.js';
import { Workload } from '../../scripts/chaos/workload.js';
import { planFaults } from '../../scripts/chaos/faults.js';
import { Rng, derivedSeed } from '../../scripts/lib/rng.js';
import { failed, type RunResult } from '../../scripts/chaos/run.js';
import { runLine, totals, totalsText } from '../../scripts/chaos/report.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-chaos-unit-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

describe('chaos tree comparison', () => {
  it('finds missing, extra, type, content, mode and link differences, and temp files apart', async () => {
    const a = await tmp();
    const b = await tmp();
    for (const root of [a, b]) {
      await fsp.mkdir(path.join(root, 'd', 'sub'), { recursive: true });
      await fsp.writeFile(path.join(root, 'd', 'same.txt'), 'same');
      await fsp.symlink('target', path.join(root, 'link'));
    }
    expect(compareTrees(await walkTree(a), await walkTree(b))).toEqual([]);
    await fsp.writeFile(path.join(a, 'd', 'sub', 'only-source'), 'x');
    await fsp.mkdir(path.join(b, 'stale', 'deep'), { recursive: true });
    await fsp.writeFile(path.join(b, 'stale', 'deep', 'f'), 'y');
    await fsp.writeFile(path.join(a, 'kind'), 'a file here');
    await fsp.symlink('elsewhere', path.join(b, 'kind'));
    await fsp.writeFile(path.join(a, 'content'), 'one');
    await fsp.writeFile(path.join(b, 'content'), 'two');
    await fsp.chmod(path.join(a, 'd', 'sub'), 0o700);
    await fsp.chmod(path.join(b, 'd', 'sub'), 0o755);
    await fsp.rm(path.join(b, 'link'));
    await fsp.symlink('other', path.join(b, 'link'));
    await fsp.writeFile(path.join(b, 'd', '.smr-tmp-0123abcd-7'), 'partial');
    const diffs = compareTrees(await walkTree(a), await walkTree(b));
    const by = (kind: string): string[] =>
      diffs
        .filter((d) => d.kind === kind)
        .map((d) => d.path)
        .sort();
    expect(by('missing')).toEqual(['d/sub/only-source']);
    expect(by('extra')).toEqual(['stale', 'stale/deep', 'stale/deep/f']);
    expect(by('type')).toEqual(['kind']);
    expect(by('content')).toEqual(['content']);
    expect(by('mode')).toEqual(['d/sub']);
    expect(by('link')).toEqual(['link']);
    expect(by('temp')).toEqual(['d/.smr-tmp-0123abcd-7']);
    expect(divergent(diffs).some((d) => d.kind === 'temp')).toBe(false);
    // An extra directory's descendants fold into it.
    expect(
      summarize(diffs)
        .filter((d) => d.kind === 'extra')
        .map((d) => d.path),
    ).toEqual(['stale']);
  });
});

describe('chaos seeds', () => {
  async function replay(seed: number): Promise<string[]> {
    const root = await tmp();
    const lines: string[] = [];
    const w = new Workload(root, new Rng(seed), (l) => lines.push(l), {
      bigBudget: 4 * 1024 * 1024,
      maxEntries: 400,
    });
    w.seedTree(10, 30);
    for (let i = 0; i < 400; i++) w.step();
    expect(w.failures).toBe(0);
    // The model the workload keeps is the tree on disk.
    const disk = await walkTree(root);
    expect([...disk.keys()].sort()).toEqual(
      [...(['file', 'dir', 'symlink'] as const).flatMap((k) => w.model.all(k))]
        .filter((p) => p !== '')
        .sort(),
    );
    return lines.map((l) => l.replace(/ \d+ B$/, '')); // content is random, sizes are not
  }

  it('replays the same workload from the same seed, another one from another seed', async () => {
    const first = await replay(7);
    expect(await replay(7)).toEqual(first);
    expect(await replay(8)).not.toEqual(first);
    const kinds = new Set(first.map((l) => l.split(' ')[1]));
    for (const k of ['renameDir', 'deleteTree', 'retype', 'chmodDir', 'symlink', 'swap'])
      expect(kinds).toContain(k);
  });

  it('plans the same faults from the same seed', () => {
    const plan = (seed: number) =>
      planFaults(new Rng(derivedSeed(seed, 1)), 20_000, { killEvery: 4, cutEvery: 2.5 });
    expect(plan(5)).toEqual(plan(5));
    expect(plan(5)).not.toEqual(plan(6));
    const p = plan(5);
    expect(p.kills.length).toBeGreaterThanOrEqual(3);
    expect(p.cuts.length).toBeGreaterThanOrEqual(3);
    for (const x of [...p.kills, ...p.cuts]) expect(x.at).toBeLessThan(20_000);
  });
});

describe('chaos report', () => {
  const run = (seed: number, brake: RunResult['brake'], diverged = false): RunResult => ({
    seed,
    seconds: 20,
    ops: 100,
    faults: { kills: { source: 2, target: 1 }, cuts: { reset: 1, stall: 1, 'stall-reset': 1 } },
    wait: { code: 0, ms: 1000, output: '' },
    brake,
    diverged,
    persistent: diverged,
    diffCounts: diverged ? { missing: 1 } : {},
    diffs: [],
    tempLeftovers: 0,
    targetOnly: { planted: 2, lost: [] },
    load: 1,
    logsDir: brake ? `/tmp/seed-${seed}` : null,
  });

  it('counts a brake hold in its own column: not a failure, not hidden, judged like any run', () => {
    const held = { held: 'deletions are held by the safety brake: ...', forceCode: 0 };
    const results = [run(1, null), run(2, held), run(3, held, true)];
    const t = totals(results, 20);
    expect(t.brakes).toBe(2);
    expect(t.brakeSeeds).toEqual([2, 3]);
    expect(t.divergences).toBe(1);
    expect(t.notConverged).toBe(0);
    expect(failed(results[1] as RunResult)).toBe(false);
    expect(failed(results[2] as RunResult)).toBe(true);
    expect(totalsText(t)).toMatch(/brake holds: {2}2 .*\(seeds 2, 3\)/);
    const line = runLine(results[1] as RunResult, 1, 3);
    expect(line).toMatch(
      /trees equal, BRAKE held deletions \(answered with mirror start --force: exit 0\)/,
    );
    expect(line).toMatch(/logs: \/tmp\/seed-2/);
  });
});
