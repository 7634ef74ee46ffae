// The contract's status of a connection: the target's state is named by one rule.
import { describe, expect, it } from 'vitest';
import type { ConnectionConfig } from '../../../src/source/connection-config.js';
import { connectionStatus, type StatusParts } from '../../../src/source/connection-status.js';
import { freshProgress } from '../../../src/source/mirror-progress.js';

function parts(
  cfg: Partial<ConnectionConfig> = {},
  link: Partial<StatusParts['link']> = {},
  stopped: string | null = null,
) {
  return {
    cfg: {
      name: 'web',
      to: '127.0.0.1:1',
      path: '/src',
      targetPath: 'web',
      include: [],
      exclude: [],
      mirror: 'diff',
      replicate: true,
      transmit: 'started',
      keyFile: null,
      bandwidth: null,
      epoch: 1,
      remirrorRequired: false,
      createdAt: '',
      ...cfg,
    },
    link: {
      state: 'connected',
      lastError: null,
      targetFault: null,
      sentBytes: 1,
      wireBytes: 2,
      ...link,
    },
    journal: {
      stats: () => ({ ops: 3, bytes: 4 }),
      lastSeq: 9,
      ackedSeq: 6,
      limit: { value: 32 << 20 } as StatusParts['journal']['limit'],
    },
    mirror: freshProgress('idle', null),
    tasksPending: 0,
    transport: { tls: true, compress: 'zstd' },
    held: null as string | null,
    reconciling: false,
    watcher: { backend: 'native', watchedDirs: 5, unwatched: 0, readyMs: 2, missed: 1, rescans: 1 },
    overflow: { reason: stopped },
    skipped: { count: 0, reasons: {} },
  } satisfies StatusParts;
}

describe('connectionStatus', () => {
  it('names the target state: remirror-required over held deletions over paused over reconciling over error over ok', () => {
    const state = (p: StatusParts) => connectionStatus(p).targetState;
    expect(state({ ...parts(), reconciling: true })).toBe('reconciling');
    expect(state({ ...parts({ transmit: 'paused' }), reconciling: true })).toBe('paused');
    const held = { ...parts({ transmit: 'paused' }), held: 'deleting 6 of 10', reconciling: true };
    expect(state(held)).toBe('error');
    expect(connectionStatus(held).lastError).toMatch(/safety brake: deleting 6 of 10/);
    expect(state({ ...held, cfg: { ...held.cfg, remirrorRequired: true } })).toBe(
      'remirror-required',
    );
    expect(state(parts())).toBe('ok');
    expect(state(parts({}, { state: 'connecting', lastError: 'refused' }))).toBe('error');
    expect(state(parts({}, { state: 'connecting', lastError: null }))).toBe('ok');
    expect(state(parts({ transmit: 'paused' }, { state: 'connecting', lastError: 'x' }))).toBe(
      'paused',
    );
    expect(state(parts({ remirrorRequired: true, transmit: 'paused' }))).toBe('remirror-required');
  });

  it('is in error while the target reports a fault, even with the link up', () => {
    const fault = { code: 'ENOSPC', seq: 7, message: 'no space left on /r (seq 7): free space' };
    const st = connectionStatus(
      parts({}, { state: 'connected', targetFault: fault, lastError: `target: ${fault.message}` }),
    );
    expect(st.targetState).toBe('error');
    expect(st.lastError).toBe('target: no space left on /r (seq 7): free space');
    expect(st.link).toBe('connected');
  });

  it('carries the queue, seqs and byte counters', () => {
    expect(connectionStatus(parts())).toMatchObject({
      queue: { ops: 3, bytes: 4, limit: 32 << 20 },
      lastCapturedSeq: 9,
      lastAckedSeq: 6,
      sent: { bytes: 1, wireBytes: 2 },
      replication: 'on',
      watcher: { backend: 'native', watchedDirs: 5, missed: 1, rescans: 1 },
    });
  });

  it('shows a stopped queue as remirror-required, its reason over a link error', () => {
    const why = 'the queue of web reached its limit (32 MiB: connect --queue-limit) ...';
    const st = connectionStatus(
      parts({ remirrorRequired: true }, { state: 'connecting', lastError: 'refused' }, why),
    );
    expect(st.targetState).toBe('remirror-required');
    expect(st.lastError).toBe(why);
  });
});
