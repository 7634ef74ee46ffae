// A session's requests: a few run at once, the rest wait in order, and only a full waiting line
// stops the session reading (slow requests used to hold back the ops behind them: the fuzz
// harness's "hangs" of seed 1717).
import { describe, expect, it } from 'vitest';
import { RequestQueue } from '../../../src/target/request-queue.js';

/** A request that runs until the test ends it. */
function gate() {
  let end!: () => void;
  const done = new Promise<void>((r) => (end = r));
  return { done, end };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('RequestQueue', () => {
  it('runs at most `running` at once, starts the next in order, and is full only at its bounds', async () => {
    let changes = 0;
    const q = new RequestQueue(() => changes++, { running: 2, waiting: 3, waitingBytes: 1000 });
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, () => gate());
    gates.forEach((g, i) =>
      q.add(() => {
        started.push(i);
        return g.done;
      }, 10),
    );
    expect(started).toEqual([0, 1]);
    expect(q.size).toBe(5);
    expect(q.full).toBe(true); // 3 waiting: the bound
    gates[1]!.end();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(q.full).toBe(false);
    expect(changes).toBeGreaterThan(0);
    for (const g of gates) g.end();
    await settle();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(q.size).toBe(0);
  });

  it('is full when what waits holds too many bytes, and a failed request still frees its place', async () => {
    const q = new RequestQueue(() => undefined, { running: 1, waiting: 100, waitingBytes: 100 });
    const g = gate();
    q.add(() => g.done.then(() => Promise.reject(new Error('no such file'))), 1000);
    expect(q.full).toBe(false); // running: not waiting
    q.add(() => Promise.resolve(), 60);
    expect(q.full).toBe(false);
    q.add(() => Promise.resolve(), 60);
    expect(q.full).toBe(true);
    g.end();
    await settle();
    await settle();
    expect(q.size).toBe(0);
    expect(q.full).toBe(false);
  });

  it('starts nothing that waits once the session closed', async () => {
    const q = new RequestQueue(() => undefined, { running: 1, waiting: 10, waitingBytes: 1000 });
    const g = gate();
    let second = false;
    q.add(() => g.done, 1);
    q.add(async () => void (second = true), 1);
    q.close();
    g.end();
    await settle();
    expect(second).toBe(false);
    q.add(async () => void (second = true), 1);
    expect(second).toBe(false);
  });

  it('by default lets 16 run and many more wait before the session stops reading', () => {
    const q = new RequestQueue(() => undefined);
    for (let i = 0; i < 40; i++) q.add(() => new Promise(() => undefined), 4096);
    expect(q.size).toBe(40);
    expect(q.full).toBe(false); // the old rule stopped reading at 16 running
  });
});
