// The fuzz harness in short (docs/FUZZ.md; `npm run fuzz -- --frames 100000` is the long form):
// random bytes, damaged handshakes, frames the decoder must refuse and bursts of accepted but
// hostile ops, requests and floods, against a TLS target and a plaintext one on a small file
// system inside a sentinel tree. No crash, no hang, nothing outside the roots, memory within its
// bound, canaries acknowledged, and real replication into both targets still ends in equal trees.
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzRun, passed } from '../../scripts/fuzz/run.js';
import { SMR } from '../helpers/harness.js';

const SEED = 17;
const FRAMES = 600;
const MAX_RSS_MIB = 400;

describe('fuzz (short)', () => {
  it(`seed ${SEED}: ${FRAMES} hostile frames, no crash, hang or escape`, async () => {
    const lines: string[] = [];
    const r = await fuzzRun({
      frames: FRAMES,
      seed: SEED,
      bin: SMR,
      work: path.join(os.tmpdir(), `smr-fuzz-test-${process.pid}`),
      hostile: 0, // the short storm is test/e2e/preauth.test.ts
      keep: false,
      fsMiB: 256,
      say: (l) => lines.push(l),
    });
    const ctx = JSON.stringify({ ...r, log: lines.slice(-5) }, null, 1).slice(0, 4000);
    expect(r.frames.total, ctx).toBeGreaterThanOrEqual(FRAMES);
    // Each kind of round really ran, and the target really refused and reported.
    expect(r.frames.preauth, ctx).toBeGreaterThan(0);
    expect(r.frames.decoder, ctx).toBeGreaterThan(0);
    expect(r.frames.burst, ctx).toBeGreaterThan(FRAMES / 2);
    expect(r.closedByTarget, ctx).toBeGreaterThan(0);
    expect({ crashes: r.crashes, hangs: r.hangs, escapes: r.escapes }, ctx).toEqual({
      crashes: [],
      hangs: [],
      escapes: [],
    });
    expect(r.canaries.failed, ctx).toEqual([]);
    expect(r.real, ctx).toEqual({ tls: null, plain: null });
    expect(r.stops, ctx).toEqual({ tls: 0, plain: 0 });
    expect(passed(r, MAX_RSS_MIB), ctx).toBe(true);
  }, 240_000);
});
