// `smr source start`: the source daemon, in the foreground.
import { runSourceDaemon } from '../../source/daemon.js';
import type { Verb } from '../verb.js';

export const sourceVerb: Verb = {
  command: 'source start',
  describe: 'Run the source daemon in the foreground',
  async run(_args, ctx) {
    await runSourceDaemon({ stateDir: ctx.stateDir });
    return null;
  },
};
