// `smr source start`: the source daemon, in the foreground.
import path from 'node:path';
import { runSourceDaemon } from '../../source/daemon.js';
import type { Verb } from '../verb.js';

export const sourceVerb: Verb = {
  command: 'source start',
  describe: 'Run the source daemon in the foreground',
  builder: (y) =>
    y.option('tasks-dir', {
      type: 'string',
      describe: 'programs `queue` and `transmit` tasks may run (default STATE_DIR/tasks)',
    }),
  async run(a: { tasksDir?: string }, ctx) {
    await runSourceDaemon({
      stateDir: ctx.stateDir,
      tasksDir: a.tasksDir ? path.resolve(a.tasksDir) : undefined,
    });
    return null;
  },
};
