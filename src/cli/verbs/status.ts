// `smr status [NAME]`: one connection, or all.
import { source } from '../daemon-call.js';
import { statusLines } from '../render-status.js';
import { byName, type Verb } from '../verb.js';

export const statusVerb: Verb = {
  connectionOf: byName,
  command: 'status [name]',
  describe: 'Show connections: link, queue, mirror, tasks',
  builder: (y) => y.positional('name', { type: 'string' }),
  async run(a: { name?: string }, ctx) {
    if (a.name !== undefined) {
      const s = await source(ctx, 'status', { name: a.name });
      return { data: s, text: statusLines(s) };
    }
    const all = await source(ctx, 'connections', {});
    return {
      data: all,
      text: all.connections.length ? all.connections.flatMap(statusLines) : 'no connections',
    };
  },
};
