// The fault schedule of one chaos run, planned up front from the seed: kill -9 of either daemon
// (restarted after a random outage on the same state dir and port) and link faults through the
// proxy (resets, stalls, stalls that end in a reset).
import type { DaemonProc } from './daemons.js';
import type { FaultProxy } from './proxy.js';
import type { Rng } from '../lib/rng.js';

/** A kill -9 at `at` ms into the workload, the daemon started again `downMs` later. */
export interface Kill {
  at: number;
  who: 'source' | 'target';
  downMs: number;
}

/** A link fault at `at` ms: a reset, or a stall of `ms` (healed, or ended by a reset). */
export interface Cut {
  at: number;
  kind: 'reset' | 'stall' | 'stall-reset';
  ms: number;
}

/** Mean seconds between faults of each family. */
export interface FaultRates {
  killEvery: number;
  cutEvery: number;
}

/** What actually happened (a fault meeting no live connection is not counted as a cut). */
export interface FaultCounts {
  kills: { source: number; target: number };
  cuts: { reset: number; stall: number; 'stall-reset': number };
}

/** Times spread over the run: one per slot, at a random point of it. */
function spread(rng: Rng, ms: number, every: number): number[] {
  const n = Math.max(1, Math.round((ms / 1000 / every) * (0.75 + 0.5 * rng.next())));
  const slot = ms / n;
  return Array.from({ length: n }, (_, i) => Math.round(slot * i + rng.next() * slot));
}

/** The kills and cuts of a run of `ms` milliseconds. */
export function planFaults(
  rng: Rng,
  ms: number,
  rates: FaultRates,
): { kills: Kill[]; cuts: Cut[] } {
  const kills = spread(rng, ms, rates.killEvery).map((at) => ({
    at,
    who: rng.chance(0.5) ? ('source' as const) : ('target' as const),
    downMs: rng.chance(0.25) ? 0 : rng.range(100, 2500),
  }));
  const cuts = spread(rng, ms, rates.cutEvery).map((at) => {
    const r = rng.next();
    const kind: Cut['kind'] = r < 0.45 ? 'reset' : r < 0.75 ? 'stall' : 'stall-reset';
    return { at, kind, ms: kind === 'reset' ? 0 : rng.range(300, 5000) };
  });
  return { kills, cuts };
}

/** How long a planned link fault waits for a live connection before it goes off anyway. */
const LIVE_WAIT_MS = 3000;

const sleepUntil = (t: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/** Plays the kills against the two daemons; resolves once every restart is done. */
export async function playKills(
  kills: Kill[],
  start: number,
  daemons: { source: DaemonProc; target: DaemonProc },
  counts: FaultCounts,
  log: (line: string) => void,
): Promise<void> {
  const restarting: Partial<Record<Kill['who'], Promise<void>>> = {};
  for (const k of kills) {
    await sleepUntil(start + k.at);
    const d = daemons[k.who];
    await restarting[k.who]; // a daemon still down is first brought back, then killed again
    await d.kill(`chaos kill at +${k.at} ms`);
    counts.kills[k.who]++;
    log(`kill -9 ${k.who} (down ${k.downMs} ms)`);
    restarting[k.who] = (async () => {
      await new Promise((r) => setTimeout(r, k.downMs));
      await d.start('restart after kill -9');
      log(`restarted ${k.who}`);
    })();
  }
  await Promise.all(Object.values(restarting));
}

/** Plays the link faults on the proxy until `endAt`; the link is healed when it resolves. */
export async function playCuts(
  cuts: Cut[],
  start: number,
  endAt: number,
  proxy: FaultProxy,
  counts: FaultCounts,
  log: (line: string) => void,
): Promise<void> {
  for (const c of cuts) {
    await sleepUntil(start + c.at);
    // A fault is meant for a live link: one that is down (a daemon restarting, the source backing
    // off) is waited for a little, so faults hit connections rather than nothing.
    await proxy.waitLive(Math.min(LIVE_WAIT_MS, endAt - Date.now()));
    if (Date.now() >= endAt) break; // the workload is over: no fault outlives it
    if (c.kind === 'reset') {
      const n = proxy.reset();
      if (n > 0) counts.cuts.reset++;
      log(`link reset (${n} sockets)`);
      continue;
    }
    const live = proxy.live;
    const accepted = proxy.accepted;
    proxy.stall();
    log(
      `link stall for ${c.ms} ms (${live} connections live)${c.kind === 'stall-reset' ? ', then reset' : ''}`,
    );
    await new Promise((r) => setTimeout(r, c.ms));
    const n = c.kind === 'stall-reset' ? proxy.reset() : 0;
    proxy.heal();
    if (live > 0 || n > 0 || proxy.accepted > accepted) counts.cuts[c.kind]++;
    log(`link healed${c.kind === 'stall-reset' ? ` after resetting ${n} sockets` : ''}`);
  }
}
