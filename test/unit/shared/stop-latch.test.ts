import { describe, expect, it } from 'vitest';
import { isDaemonStart } from '../../../src/shared/stop-latch.js';

describe('isDaemonStart', () => {
  it('knows the two daemon verbs wherever the global options stand', () => {
    expect(isDaemonStart(['source', 'start'])).toBe(true);
    expect(isDaemonStart(['--state-dir', '/s', 'target', 'start', '--root', 'r'])).toBe(true);
    expect(isDaemonStart(['--json', '--config', 'c.yml', 'source', 'start'])).toBe(true);
  });

  it('leaves every other verb to the default signal behaviour', () => {
    expect(isDaemonStart(['mirror', 'start', 'web'])).toBe(false);
    expect(isDaemonStart(['--state-dir', 'source', 'status'])).toBe(false);
    expect(isDaemonStart(['wait', 'web'])).toBe(false);
    expect(isDaemonStart(['queue-task', 'web', '--', 'source', 'start'])).toBe(false);
    expect(isDaemonStart([])).toBe(false);
  });
});
