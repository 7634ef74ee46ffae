// `smr source start`: the source daemon, in the foreground.
import { existingDir } from '../../config/tasks-dir.js';
import { runSourceDaemon } from '../../source/daemon.js';
import type { Verb } from '../verb.js';
import { systemdLifecycle } from '../sd-notify.js';

export const sourceVerb: Verb = {
  schedulable: false,
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
    // The default (STATE_DIR/tasks) may be missing: queue and transmit tasks are then rejected.
    const dir = a.tasksDir ?? ctx.config.source?.tasksDir;
    await runSourceDaemon({
      stateDir: ctx.stateDir,
      tasksDir: dir ? await existingDir(dir, '--tasks-dir') : undefined,
      insecureNoTls: a.insecureNoTls === true,
      lifecycle: systemdLifecycle,
    });
    return null;
  },
};
