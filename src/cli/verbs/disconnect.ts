// `smr disconnect NAME`: stop and forget a connection (its queue is dropped).
import { source } from '../daemon-call.js';
import { byName, type Verb } from '../verb.js';

export const disconnectVerb: Verb = {
  connectionOf: byName,
  command: 'disconnect <name>',
  describe: 'Stop a connection and forget it',
  builder: (y) => y.positional('name', { type: 'string' }),
  async run(a: { name: string }, ctx) {
    const r = await source(ctx, 'disconnect', { name: a.name });
    return { data: r, text: `${a.name} disconnected` };
  },
};
