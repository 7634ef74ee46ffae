// `smr source start`: the source daemon, in the foreground.
import path from 'node:path';
import { runSourceDaemon } from '../../source/daemon.js';
import type { Verb } from '../verb.js';

export const sourceVerb: Verb = {
  command: 'source start',
  describe: 'Run the source daemon in the foreground',
  builder: (y) =>
    y
      .option('tasks-dir', {
        type: 'string',
        describe: 'programs `queue` and `transmit` tasks may run (default STATE_DIR/tasks)',
      })
      .option('insecure-no-tls', {
        type: 'boolean',
        describe: 'plaintext links for every connection (targets need it too; benchmarks only)',
      }),
  async run(a: { tasksDir?: string; insecureNoTls?: boolean }, ctx) {
    await runSourceDaemon({
      stateDir: ctx.stateDir,
      tasksDir: a.tasksDir ? path.resolve(a.tasksDir) : undefined,
      insecureNoTls: a.insecureNoTls === true,
    });
    return null;
  },
};
