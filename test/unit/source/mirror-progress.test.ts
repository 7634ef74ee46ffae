// A mirror's progress: files count as done when their ops are acknowledged, and the run is
// complete only once the scan is done, every step is acknowledged and no resend is pending.
import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../../src/source/mirror-progress.js';

function running(): ProgressTracker {
  const p = new ProgressTracker();
  p.restart('diff');
  p.progress.state = 'mirroring';
  return p;
}

describe('ProgressTracker', () => {
  it('counts files and bytes done as their seqs are acknowledged', () => {
    const p = running();
    p.planned(100);
    p.planned(300);
    p.queuedUpTo(5, 100);
    p.queuedUpTo(9, 300);
    p.acked(7);
    // While the scan may still find work, a share of a growing total would mislead.
    expect(p.progress).toMatchObject({ filesDone: 1, bytesDone: 100, percent: 0 });
    expect(p.progress.totalsKnown).toBe(false);
    p.scanDone(10);
    p.acked(7);
    expect(p.progress).toMatchObject({ filesDone: 1, percent: 25, totalsKnown: true });
    p.acked(9);
    expect(p.progress).toMatchObject({ filesDone: 2, bytesDone: 400, state: 'mirroring' });
  });

  it('completes only after the scan is done and everything up to its end is acknowledged', () => {
    const p = running();
    p.queuedUpTo(3, 0);
    p.acked(3);
    expect(p.progress.state).toBe('mirroring'); // the scan may still queue more
    p.scanDone(4);
    p.acked(3);
    expect(p.progress.state).toBe('mirroring');
    p.acked(4);
    expect(p.progress).toMatchObject({ state: 'complete', percent: 100 });
  });

  it('a resend the target asked for holds completion until it is queued and acknowledged', () => {
    const p = running();
    p.scanDone(2);
    let last = 2;
    const release = p.holdForResend(() => last);
    p.acked(2);
    expect(p.progress.state).toBe('mirroring');
    last = 6; // the resend queued seqs 3..6
    release();
    p.acked(5);
    expect(p.progress.state).toBe('mirroring');
    p.acked(6);
    expect(p.progress.state).toBe('complete');
  });

  it('a paused run is not completed by acks; resuming goes back to where it was', () => {
    const p = running();
    p.scanDone(1);
    p.progress.state = 'paused';
    p.acked(1);
    expect(p.progress.state).toBe('paused');
    expect(p.resumedState).toBe('mirroring');
    p.restart('full');
    expect(p.resumedState).toBe('calculating');
  });
});
