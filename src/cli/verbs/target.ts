// `smr target start`: the target daemon, in the foreground.
import path from 'node:path';
import { runTargetDaemon } from '../../target/daemon.js';
import { waitForStop } from '../../shared/stop-latch.js';
import { parseHostPort } from '../../source/dial.js';
import { SmrError } from '../../shared/errors.js';
import { targetTasksDir } from '../../config/tasks-dir.js';
import type { Verb } from '../verb.js';
import { systemdLifecycle } from '../sd-notify.js';
import { hostPortFlag } from '../options.js';

export const targetVerb: Verb = {
  schedulable: false,
  command: 'target start',
  describe: 'Run the target daemon in the foreground',
  builder: (y) =>
    y
      .option('listen', hostPortFlag('listen', 'HOST:PORT to listen on (port 0 picks a free one)'))
      .option('root', { type: 'string', describe: 'every replica lives under this directory' })
      .option('allow-tasks', {
        type: 'boolean',
        describe: 'run queued tasks (only programs in --tasks-dir)',
      })
      .option('tasks-dir', { type: 'string', describe: 'directory of task programs' })
      .option('key-file', { type: 'string', describe: 'shared key file' })
      .option('suid', {
        type: 'boolean',
        default: true,
        describe:
          'keep setuid/setgid bits a source sends (--no-suid strips them; never kept on a file group or others may write)',
      })
      .option('auth', {
        type: 'boolean',
        default: true,
        describe: 'require the shared key (--no-auth accepts any source; trusted networks only)',
      })
      .option('insecure-no-tls', {
        type: 'boolean',
        describe: 'plaintext links (sources need it too; benchmarks on trusted networks only)',
      }),
  async run(
    args: {
      listen?: string;
      root?: string;
      allowTasks?: boolean;
      tasksDir?: string;
      keyFile?: string;
      auth?: boolean;
      suid?: boolean;
      insecureNoTls?: boolean;
    },
    ctx,
  ) {
    const t = ctx.config.target ?? {};
    const { host, port } = parseHostPort(args.listen ?? t.listen ?? '0.0.0.0:6320');
    const root = args.root ?? t.root;
    if (!root)
      throw new SmrError(
        'usage',
        'target start needs --root DIR',
        'every file the target writes stays under it',
      );
    const keyFile = args.keyFile ?? ctx.config.keyFile ?? null;
    const allowTasks = Boolean(args.allowTasks ?? t.allowTasks);
    const tasksDir = await targetTasksDir(allowTasks, args.tasksDir ?? t.tasksDir);
    await runTargetDaemon(
      {
        host,
        port,
        root: path.resolve(root),
        stateDir: ctx.stateDir,
        keyFile: keyFile ? path.resolve(keyFile) : null,
        noAuth: args.auth === false,
        insecureNoTls: args.insecureNoTls === true,
        allowTasks,
        tasksDir,
        noSuid: args.suid === false,
        lifecycle: systemdLifecycle,
      },
      waitForStop,
    );
    return null;
  },
};
