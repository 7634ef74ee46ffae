// `smr replicate on|off NAME`, `smr transmit start|stop|pause|resume NAME`, `smr limit NAME --bandwidth`.
import { SmrError } from '../../shared/errors.js';
import { parseRate } from '../../shared/units.js';
import { source } from '../daemon-call.js';
import { statusLines } from '../render-status.js';
import type { ParamsOf } from '../../control/methods.js';
import type { Verb } from '../verb.js';

export const replicateVerb: Verb = {
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
  command: 'limit <name>',
  describe: 'Limit the bandwidth a connection uses',
  builder: (y) =>
    y.positional('name', { type: 'string' }).option('bandwidth', {
      type: 'string',
      demandOption: true,
      describe: 'RATE like 10MiB/s, or off',
    }),
  async run(a: { name: string; bandwidth: string }, ctx) {
    const rate = a.bandwidth === 'off' ? null : parseRate(a.bandwidth);
    if (rate !== null && rate < 1024)
      throw new SmrError(
        'usage',
        `bandwidth ${a.bandwidth} is below 1KiB/s`,
        'use a rate like 500KiB/s, or off',
      );
    const s = await source(ctx, 'limit', { name: a.name, bandwidth: rate });
    return { data: s, text: statusLines(s) };
  },
};
