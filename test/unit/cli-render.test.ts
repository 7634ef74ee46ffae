// Rendering a person reads: mirror lines that never show a share of a total still growing, nor of a
// paused or stopped mirror; rates and time left; tables whose columns line up.
import { describe, expect, it } from 'vitest';
import { RateMeter } from '../../src/cli/rate-meter.js';
import {
  mirrorLine,
  mirrorProgress,
  statusLines,
  type StatusView,
} from '../../src/cli/render-status.js';
import { table } from '../../src/cli/table.js';
import { tasksTable } from '../../src/cli/render-tasks.js';
import { formatDuration } from '../../src/shared/units.js';

type Mirror = StatusView['mirror'];
const mirror = (m: Partial<Mirror>): Mirror => ({
  state: 'mirroring',
  mode: 'diff',
  filesDone: 7,
  filesTotal: 14,
  bytesDone: 7 * 1024,
  bytesTotal: 14 * 1024,
  percent: 0,
  totalsKnown: false,
  orphans: 0,
  deleted: 0,
  ...m,
});

describe('mirror lines', () => {
  it('say "listing…" and show no percentage while the totals still grow', () => {
    const line = mirrorLine(mirror({ totalsKnown: false }));
    expect(line).toBe('mirroring (diff): listing… 7/14+ files, 7.0 KiB/14.0 KiB+ found so far');
    expect(line).not.toContain('%');
  });

  it('show the percentage once the totals are known', () => {
    expect(mirrorLine(mirror({ totalsKnown: true, percent: 50 }))).toBe(
      'mirroring (diff) 7/14 files, 7.0 KiB/14.0 KiB, 50%',
    );
  });

  it('show where a paused or stopped mirror is, without a percentage', () => {
    for (const state of ['paused', 'stopped'] as const) {
      const line = mirrorLine(mirror({ state, totalsKnown: true, percent: 100 }));
      expect(line).toBe(`${state} (diff) at 7/14 files, 7.0 KiB/14.0 KiB`);
    }
  });

  it('say what a complete mirror changed, and any error', () => {
    expect(mirrorLine(mirror({ state: 'complete', filesDone: 3, bytesDone: 6, deleted: 2 }))).toBe(
      'complete (diff): 3 changed (6 B), 2 orphan(s) deleted',
    );
    expect(
      mirrorLine(mirror({ state: 'complete', orphans: 4, error: 'orphans not deleted' })),
    ).toMatch(/4 orphan\(s\) kept \(smr orphans\); orphans not deleted$/);
  });

  it('add rate and time left on a terminal, time left only with known totals', () => {
    const known = mirrorProgress('web', mirror({ totalsKnown: true }), 2048, 3500);
    expect(known).toBe(
      'web: mirroring (diff) 7/14 files, 7.0 KiB/14.0 KiB, 0%, 2.0 KiB/s, 4s left',
    );
    expect(mirrorProgress('web', mirror({}), 2048, 3500)).not.toContain('left');
  });
});

describe('status lines', () => {
  it('show the bandwidth limit and skipped counters when the daemon sends them', () => {
    const s = {
      name: 'web',
      target: 'h:1',
      path: '/src',
      targetPath: 'web',
      link: 'connected',
      replication: 'on',
      transmit: 'started',
      targetState: 'ok',
      consistency: 'file',
      mirror: mirror({ state: 'idle' }),
      queue: { ops: 0, bytes: 0 },
      bandwidth: 10 * 1024 * 1024,
      lastCapturedSeq: 1,
      lastAckedSeq: 1,
      sent: { bytes: 0, wireBytes: 0 },
      transport: { tls: true, compress: 'zstd' },
      tasks: { pending: 0 },
      watcher: null,
      lastError: null,
      skipped: { count: 3, reasons: { fifo: 2, socket: 1 } },
    } as StatusView;
    const text = statusLines(s).join('\n');
    expect(text).toContain('bandwidth limit 10.0 MiB/s');
    expect(text).toContain('skipped 3 (fifo 2, socket 1)');
    expect(text).toContain('consistency file');
    expect(text).not.toContain('watcher');
    expect(statusLines({ ...s, bandwidth: null }).join('\n')).toContain('bandwidth unlimited');
    const watcher = { backend: 'native', watchedDirs: 12, unwatched: 1, readyMs: 3 } as const;
    expect(statusLines({ ...s, watcher: { ...watcher, missed: 2, rescans: 1 } })).toContain(
      '  watcher native, 12 directories watched, 1 unwatched; 2 possible event losses, 1 rescans',
    );
  });
});

describe('rate meter', () => {
  it('measures over its window and forgets a restarted counter', () => {
    const m = new RateMeter(5000);
    expect(m.rate()).toBeNull();
    m.add(0, 0);
    m.add(1000, 1000);
    m.add(2000, 3000);
    expect(m.rate()).toBe(1500);
    expect(m.eta(6000)).toBe(2000);
    m.add(9000, 10_000); // the first samples fall out of the window
    expect(m.rate()).toBe(1000);
    m.add(9500, 0); // a new run
    expect(m.rate()).toBeNull();
  });

  it('formats durations the way smr parses them', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(7_800_000)).toBe('2h10m');
  });
});

describe('tables', () => {
  it('line columns up whatever the cell widths, wide characters included', () => {
    const lines = table(
      [{ title: 'name' }, { title: 'n', numeric: true }, { title: 'note' }],
      [
        ['a', '1', 'x'],
        ['日本語', '100', 'y'],
      ],
    );
    expect(lines).toEqual(['NAME      N  NOTE', 'a         1  x', '日本語  100  y']);
  });

  it('lists tasks with aligned columns', () => {
    const t = (id: string, state: string, command: string) =>
      ({
        id,
        on: 'execute',
        command,
        args: [],
        timeoutMs: 1,
        seq: 1,
        state,
        exitCode: state === 'failed' ? 3 : null,
        queuedAt: '2026-01-01T00:00:00Z',
        startedAt: null,
        endedAt: null,
        durationMs: null,
        outputTail: [],
        connection: 'web',
      }) as Parameters<typeof tasksTable>[0][number];
    const lines = tasksTable([t('t1', 'queued', 'a.sh'), t('t22', 'failed', 'snapshot.sh')]);
    const col = (l: string, w: string) => l.indexOf(w);
    expect(col(lines[1]!, 'queued')).toBe(col(lines[0]!, 'STATE'));
    expect(col(lines[2]!, 'failed')).toBe(col(lines[0]!, 'STATE'));
    expect(col(lines[1]!, 'a.sh')).toBe(col(lines[2]!, 'snapshot.sh'));
  });
});
