// `smr mirror start|stop|pause|resume NAME`.
import { source } from '../daemon-call.js';
import { progress } from '../output.js';
import { statusLines } from '../render-status.js';
import type { ParamsOf } from '../../control/methods.js';
import type { Verb } from '../verb.js';
import { formatBytes } from '../../shared/units.js';

export const mirrorVerb: Verb = {
  command: 'mirror <action> <name>',
  describe: 'Bring the whole target copy in line with the source',
  builder: (y) =>
    y
      .positional('action', { choices: ['start', 'stop', 'pause', 'resume'] as const })
      .positional('name', { type: 'string' })
      .option('mode', { choices: ['full', 'diff', 'checksum'] as const, default: 'diff' })
      .option('newer-only', { type: 'boolean', describe: 'send only files newer on the source' })
      .option('delete-orphans', {
        type: 'boolean',
        describe: 'delete target files not in the source set',
      })
      .option('wait', { type: 'boolean', describe: 'wait until the mirror completes' })
      .option('timeout', {
        type: 'string',
        describe: 'with --wait: give up after this long (exit 6)',
      }),
  async run(
    a: {
      action: ParamsOf<'mirror'>['action'];
      name: string;
      mode: ParamsOf<'mirror'>['mode'];
      newerOnly?: boolean;
      deleteOrphans?: boolean;
      wait?: boolean;
      timeout?: string;
    },
    ctx,
  ) {
    let s = await source(ctx, 'mirror', {
      name: a.name,
      action: a.action,
      mode: a.mode,
      newerOnly: a.newerOnly,
      deleteOrphans: a.deleteOrphans,
    });
    if (a.action === 'start' && a.wait) {
      const { parseDuration } = await import('../../shared/units.js');
      const timeoutMs = a.timeout ? parseDuration(a.timeout) : 0;
      const p = progress(ctx, `mirroring ${a.name}`);
      const poll = setInterval(() => {
        void source(ctx, 'status', { name: a.name }).then(
          (x) => {
            const m = x.mirror;
            p.update(
              `mirroring ${a.name}: ${m.state} ${m.filesDone}/${m.filesTotal} files, ${formatBytes(m.bytesDone)}/${formatBytes(m.bytesTotal)} (${m.percent}%)`,
            );
          },
          () => undefined,
        );
      }, 250);
      try {
        s = await source(ctx, 'wait', { name: a.name, for: 'mirrored', timeoutMs });
      } finally {
        clearInterval(poll);
        p.stop();
      }
    }
    return { data: s, text: statusLines(s) };
  },
};
