// `smr wait NAME [--for synced|mirrored|group] [--timeout DURATION]`.
import { durationFlag } from '../options.js';
import { source } from '../daemon-call.js';
import { progress } from '../output.js';
import { byName, type Verb } from '../verb.js';

export const waitVerb: Verb = {
  connectionOf: byName,
  command: 'wait <name>',
  describe: 'Wait until the target holds everything captured before the call',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('for', { choices: ['synced', 'mirrored', 'group'] as const, default: 'synced' })
      .option(
        'timeout',
        durationFlag('timeout', 'give up after this long (exit 6), e.g. 90s, 10m; 0 = no limit'),
      ),
  async run(a: { name: string; for: 'synced' | 'mirrored' | 'group'; timeout?: number }, ctx) {
    const timeoutMs = a.timeout ?? 0;
    const p = progress(ctx, `waiting for ${a.name} to be ${a.for}`);
    try {
      const s = await source(ctx, 'wait', {
        name: a.name,
        for: a.for,
        timeoutMs,
      });
      return { data: s, text: `${a.name} ${a.for} (acked seq ${s.lastAckedSeq})` };
    } finally {
      p.stop();
    }
  },
};
