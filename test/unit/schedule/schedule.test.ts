// Scheduled jobs: persistence, validation, cron firing, no overlap, runNow.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmrError } from '../../../src/shared/errors.js';
import {
  MAX_RUN_OUTPUT_CHARS,
  ScheduleStore,
  Scheduler,
  type ScheduleJob,
  type SchedulerEvent,
} from '../../../src/schedule/index.js';

let stateDir: string;
let scheduler: Scheduler | undefined;

beforeEach(async () => {
  stateDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-schedule-'));
});

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await fsp.rm(stateDir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<SmrError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmrError);
  return err as SmrError;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

const nightly = {
  name: 'nightly',
  cron: '0 2 * * *',
  argv: ['mirror', 'start', 'web', '--mode', 'checksum'],
};

describe('ScheduleStore', () => {
  it('persists add and remove across reopen', async () => {
    const store = new ScheduleStore(stateDir);
    const added = await store.add(nightly);
    expect(added).toMatchObject(nightly);
    expect(Date.parse(added.createdAt)).not.toBeNaN();
    await store.add({ name: 'weekly', cron: '0 3 * * sun', argv: ['verify', 'web'] });

    const reopened = new ScheduleStore(stateDir);
    expect((await reopened.list()).map((j) => j.name)).toEqual(['nightly', 'weekly']);
    expect((await reopened.get('nightly')).argv).toEqual(nightly.argv);
    expect(reopened.file).toBe(path.join(stateDir, 'schedule.json'));

    expect((await reopened.remove('nightly')).name).toBe('nightly');
    expect((await new ScheduleStore(stateDir).list()).map((j) => j.name)).toEqual(['weekly']);
  });

  it('lists nothing when there is no file yet', async () => {
    expect(await new ScheduleStore(path.join(stateDir, 'not-yet')).list()).toEqual([]);
  });

  it('creates a missing state dir on first write', async () => {
    const store = new ScheduleStore(path.join(stateDir, 'a', 'b'));
    await store.add(nightly);
    expect(await new ScheduleStore(path.join(stateDir, 'a', 'b')).list()).toHaveLength(1);
  });

  it('refuses a bad cron expression with a usage error and a hint', async () => {
    const store = new ScheduleStore(stateDir);
    for (const cron of ['bad', '61 * * * *', '* * * *', '']) {
      const err = await errorOf(store.add({ ...nightly, cron }));
      expect(err.code).toBe('usage');
      expect(err.message).toContain(`bad cron expression "${cron}"`);
      expect(err.hint).toMatch(/fields/);
    }
    expect(await store.list()).toEqual([]);
  });

  it('accepts five and six field expressions and nicknames', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({ ...nightly, name: 'a', cron: '*/5 * * * *' });
    await store.add({ ...nightly, name: 'b', cron: '*/10 * * * * *' });
    await store.add({ ...nightly, name: 'c', cron: '@daily' });
    expect(await store.list()).toHaveLength(3);
  });

  it('refuses a duplicate name', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add(nightly);
    const err = await errorOf(store.add({ ...nightly, cron: '* * * * *' }));
    expect(err.code).toBe('usage');
    expect(err.message).toMatch(/already exists/);
    expect((await store.list())[0]!.cron).toBe(nightly.cron);
  });

  it('refuses bad names and empty or flag-first argv', async () => {
    const store = new ScheduleStore(stateDir);
    for (const bad of [
      { ...nightly, name: '' },
      { ...nightly, name: '../x' },
      { ...nightly, argv: [] },
      { ...nightly, argv: ['--state-dir', '/x'] },
    ]) {
      expect((await errorOf(store.add(bad))).code).toBe('usage');
    }
  });

  it('refuses to remove an unknown job', async () => {
    const store = new ScheduleStore(stateDir);
    const err = await errorOf(store.remove('ghost'));
    expect(err.code).toBe('unknown-job');
    expect(err.message).toContain('ghost');
    expect((await errorOf(store.get('ghost'))).code).toBe('unknown-job');
  });

  it('records runs, keeping only the end of long output', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add(nightly);
    const run = {
      startedAt: 'a',
      endedAt: 'b',
      exitCode: 0,
      ok: true,
      output: 'x'.repeat(10_000) + 'END',
    };
    expect(await store.recordRun('nightly', run)).toBe(true);
    const last = (await new ScheduleStore(stateDir).get('nightly')).lastRun!;
    expect(last.output!.length).toBeLessThanOrEqual(MAX_RUN_OUTPUT_CHARS);
    expect(last.output!.endsWith('END')).toBe(true);
    expect(await store.recordRun('ghost', run)).toBe(false);
  });

  it('serializes concurrent writes without losing any', async () => {
    const store = new ScheduleStore(stateDir);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.add({ ...nightly, name: `j${i}` })),
    );
    expect(await new ScheduleStore(stateDir).list()).toHaveLength(10);
  });

  it('reports a corrupt file as a config error', async () => {
    await fsp.writeFile(path.join(stateDir, 'schedule.json'), '{not json');
    expect((await errorOf(new ScheduleStore(stateDir).list())).code).toBe('config');
  });
});

describe('Scheduler', () => {
  it('fires a per-second job, calls back and records lastRun', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({ name: 'tick', cron: '* * * * * *', argv: ['status', 'web'] });
    const seen: ScheduleJob[] = [];
    scheduler = new Scheduler();
    await scheduler.start(store, async (job) => {
      seen.push(job);
      return { exitCode: 0, output: 'fine' };
    });
    await until(async () => (await store.get('tick')).lastRun !== undefined, 5000);
    expect(seen[0]).toMatchObject({ name: 'tick', argv: ['status', 'web'] });
    const last = (await new ScheduleStore(stateDir).get('tick')).lastRun!;
    expect(last).toMatchObject({ exitCode: 0, ok: true, output: 'fine', trigger: 'schedule' });
    expect(Date.parse(last.endedAt)).toBeGreaterThanOrEqual(Date.parse(last.startedAt));
  });

  it('records a failing or throwing job as not ok', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({ name: 'bad', cron: '0 0 1 1 *', argv: ['verify', 'web'] });
    await store.add({ name: 'boom', cron: '0 0 1 1 *', argv: ['verify', 'web'] });
    scheduler = new Scheduler();
    await scheduler.start(store, async (job) => {
      if (job.name === 'boom') throw new Error('spawn failed');
      return { exitCode: 4 };
    });
    const bad = await scheduler.runNow('bad');
    expect(bad).toMatchObject({
      outcome: 'ran',
      run: { exitCode: 4, ok: false, trigger: 'manual' },
    });
    const boom = await scheduler.runNow('boom');
    expect(boom).toMatchObject({
      outcome: 'ran',
      run: { exitCode: 1, ok: false, output: 'spawn failed' },
    });
    expect((await store.get('bad')).lastRun?.exitCode).toBe(4);
  });

  it('never overlaps runs of one job; skipped ticks are recorded', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({
      name: 'slow',
      cron: '* * * * * *',
      argv: ['mirror', 'start', 'web', '--wait'],
    });
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const events: SchedulerEvent[] = [];
    scheduler = new Scheduler({ onEvent: (e) => events.push(e) });
    await scheduler.start(store, async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(2600);
      active--;
      return { exitCode: 0 };
    });
    await until(() => events.some((e) => e.event === 'job-skipped'), 6000);
    await until(() => calls >= 1 && active === 0, 6000);
    expect(maxActive).toBe(1);
    await until(async () => ((await store.get('slow')).skipped?.count ?? 0) >= 1);
    const job = await store.get('slow');
    expect(job.skipped!.count).toBeGreaterThanOrEqual(1);
    expect(Date.parse(job.skipped!.lastAt)).not.toBeNaN();
  });

  it('runNow runs immediately, and is skipped while the job is running', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({ name: 'manual', cron: '0 0 1 1 *', argv: ['verify', 'web'] });
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let calls = 0;
    scheduler = new Scheduler();
    await scheduler.start(store, async () => {
      calls++;
      await gate;
      return { exitCode: 0, output: 'ok' };
    });
    const first = scheduler.runNow('manual');
    await until(() => calls === 1);
    expect(scheduler.runningJobs()).toEqual(['manual']);
    expect(await scheduler.runNow('manual')).toEqual({
      outcome: 'skipped',
      reason: 'still-running',
    });
    release();
    expect(await first).toMatchObject({ outcome: 'ran', run: { ok: true, output: 'ok' } });
    expect(calls).toBe(1);
    expect(scheduler.runningJobs()).toEqual([]);
    expect((await errorOf(scheduler.runNow('ghost'))).code).toBe('unknown-job');
  });

  it('reload picks up added and removed jobs', async () => {
    const store = new ScheduleStore(stateDir);
    const fired = new Set<string>();
    scheduler = new Scheduler();
    await scheduler.start(store, async (job) => {
      fired.add(job.name);
      return { exitCode: 0 };
    });
    // Another process (a verb) edits the file; the daemon reloads.
    await new ScheduleStore(stateDir).add({ name: 'late', cron: '* * * * * *', argv: ['status'] });
    await scheduler.reload();
    await until(() => fired.has('late'), 5000);
    await store.remove('late');
    await scheduler.reload();
    await sleep(300); // let a tick that was already on its way finish
    fired.clear();
    await sleep(1500);
    expect(fired.has('late')).toBe(false);
  });

  it('stop waits for a run in progress and its record', async () => {
    const store = new ScheduleStore(stateDir);
    await store.add({ name: 'w', cron: '0 0 1 1 *', argv: ['status'] });
    scheduler = new Scheduler();
    await scheduler.start(store, async () => {
      await sleep(300);
      return { exitCode: 0 };
    });
    void scheduler.runNow('w');
    await sleep(50);
    await scheduler.stop();
    expect((await store.get('w')).lastRun?.ok).toBe(true);
  });
});
