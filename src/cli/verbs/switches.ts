// `smr replicate on|off NAME`, `smr transmit start|stop|pause|resume NAME`, `smr limit NAME --bandwidth`.
import { SmrError } from '../../shared/errors.js';
import { rateFlag } from '../options.js';
import { source } from '../daemon-call.js';
import type { ParamsOf } from '../../control/methods.js';
import { statusLines } from '../render-status.js';
import type { ConnectionStatus } from '../../source/connection.js';
import { byName, type Verb } from '../verb.js';

export const replicateVerb: Verb = {
  connectionOf: byName,
  command: 'replicate <state> <name>',
  describe: 'Turn capturing of changes on or off',
  builder: (y) =>
    y
      .positional('state', { choices: ['on', 'off'] as const })
      .positional('name', { type: 'string' }),
  async run(a: { state: string; name: string }, ctx) {
    const s = await source(ctx, 'replicate', {
      name: a.name,
      on: a.state === 'on',
    });
    return { data: s, text: statusLines(s) };
  },
};

export const transmitVerb: Verb = {
  connectionOf: byName,
  command: 'transmit <action> <name>',
  describe: 'Start, stop, pause or resume sending the queue',
  builder: (y) =>
    y
      .positional('action', { choices: ['start', 'stop', 'pause', 'resume'] as const })
      .positional('name', { type: 'string' }),
  async run(a: { action: ParamsOf<'transmit'>['action']; name: string }, ctx) {
    const s = await source(ctx, 'transmit', {
      name: a.name,
      action: a.action,
    });
    return { data: s, text: statusLines(s) };
  },
};

export const limitVerb: Verb = {
  connectionOf: byName,
  command: 'limit <name>',
  describe: 'Limit the bandwidth a connection uses',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('bandwidth', {
        ...rateFlag('bandwidth', 'RATE like 10MiB/s, or off'),
        demandOption: true,
      })
      .check((a) => {
        if (typeof a.bandwidth === 'number' && a.bandwidth < 1024)
          throw new SmrError(
            'usage',
            `--bandwidth: ${a.bandwidth} bytes/s is below 1KiB/s`,
            'use a rate like 500KiB/s, or off',
          );
        return true;
      }),
  async run(a: { name: string; bandwidth: number | null }, ctx) {
    const rate = a.bandwidth;
    const s = (await source(ctx, 'limit', { name: a.name, bandwidth: rate })) as ConnectionStatus;
    return { data: s, text: statusLines(s) };
  },
};
