// The control channel's method table over a real unix socket: a typed call reaches the one
// handler of its method and its reply comes back as sent; an unknown method is a usage error.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callDaemon, callSource } from '../../../src/control/client.js';
import { dispatcher, type SourceHandlerTable } from '../../../src/control/methods.js';
import { startControlServer } from '../../../src/control/server.js';
import { controlPath } from '../../../src/control/socket-path.js';
import { SmrError } from '../../../src/shared/errors.js';

let dir: string;
let close: () => Promise<void>;
const calls: Array<[string, unknown]> = [];

/** A table whose every method records its call; the ones the tests use answer. */
function table(): SourceHandlerTable {
  const unused = async (): Promise<never> => {
    throw new SmrError('internal', 'not used here');
  };
  return {
    ping: async (p) => (calls.push(['ping', p]), { ok: true, pid: 42 }),
    tasks: async (p) => (calls.push(['tasks', p]), { tasks: [] }),
    'schedule-run': async (p) => {
      calls.push(['schedule-run', p]);
      throw new SmrError('unknown-job', `no job ${p.job}`);
    },
    status: unused,
    connections: unused,
    connect: unused,
    disconnect: unused,
    replicate: unused,
    transmit: unused,
    limit: unused,
    wait: unused,
    mirror: unused,
    'queue-task': unused,
    verify: unused,
    orphans: unused,
    'dry-run': unused,
    restore: unused,
    'task-wait': unused,
    'schedule-add': unused,
    'schedule-list': unused,
    'schedule-remove': unused,
  };
}

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smr-control-'));
  calls.length = 0;
  close = await startControlServer(controlPath(dir, 'source'), dispatcher(table()));
});

afterEach(async () => {
  await close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('the control method table', () => {
  it('routes each method to its handler and returns its reply', async () => {
    expect(await callSource(dir, 'ping', {})).toEqual({ ok: true, pid: 42 });
    expect(await callSource(dir, 'tasks', { name: 'web' })).toEqual({ tasks: [] });
    expect(calls).toEqual([
      ['ping', {}],
      ['tasks', { name: 'web' }],
    ]);
  });

  it('carries the handler’s error code back to the caller', async () => {
    await expect(callSource(dir, 'schedule-run', { job: 'nightly' })).rejects.toMatchObject({
      code: 'unknown-job',
      message: 'no job nightly',
    });
  });

  it('refuses a method the table does not have (or an inherited name) as a usage error', async () => {
    for (const m of ['reboot', 'constructor', 'toString'])
      await expect(callDaemon(dir, m, {}), m).rejects.toMatchObject({ code: 'usage' });
    expect(calls).toEqual([]);
  });
});
